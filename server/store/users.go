package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/vibesync/vibesync/server/apperr"
)

// User is a users row.
type User struct {
	ID           string
	Name         string
	Username     string
	PasswordHash string
	Bio          string
	Photo        string
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    time.Time // zero unless the account was deleted
}

const userColumns = `id, name, username, password_hash, bio, photo, created_at, updated_at, deleted_at`

func scanUser(s interface{ Scan(...any) error }) (User, error) {
	var u User
	var created, updated int64
	var deleted sql.NullInt64
	err := s.Scan(&u.ID, &u.Name, &u.Username, &u.PasswordHash, &u.Bio, &u.Photo, &created, &updated, &deleted)
	u.CreatedAt, u.UpdatedAt, u.DeletedAt = fromMS(created), fromMS(updated), nullTime(deleted)
	return u, err
}

// CreateUser inserts u. A username taken ignoring case is a conflict with
// reason "username_taken".
func (tx *Tx) CreateUser(ctx context.Context, u User) error {
	_, err := tx.exec(ctx, `INSERT INTO users (id, name, username, password_hash, bio, photo, created_at, updated_at, username_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.Username, u.PasswordHash, u.Bio, u.Photo, ms(u.CreatedAt), ms(u.UpdatedAt), strings.ToLower(u.Username))
	if err != nil {
		return fmt.Errorf("store: create user: %w", usernameConflict(err))
	}
	return nil
}

// User returns the user with id, or a not-found error.
func (tx *Tx) User(ctx context.Context, id string) (User, error) {
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return User{}, notFound(err, "user_not_found", "User")
	}
	return u, nil
}

// UserByUsername returns the user whose username matches ignoring case;
// deleted accounts are not found.
func (tx *Tx) UserByUsername(ctx context.Context, username string) (User, error) {
	u, err := scanUser(tx.queryRow(ctx, `SELECT `+userColumns+` FROM users WHERE username_key = ? AND deleted_at IS NULL`, strings.ToLower(username)))
	if err != nil {
		return User{}, notFound(err, "user_not_found", "User")
	}
	return u, nil
}

// UsersByID returns the users with the given ids, keyed by id; missing ids
// are simply absent. One query whatever the number of ids.
func (tx *Tx) UsersByID(ctx context.Context, ids []string) (map[string]User, error) {
	out := make(map[string]User, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := tx.query(ctx, `SELECT `+userColumns+` FROM users WHERE id IN (SELECT value FROM json_each(?))`, jsonStrings(ids))
	if err != nil {
		return nil, fmt.Errorf("store: users by id: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan user: %w", err)
		}
		out[u.ID] = u
	}
	return out, rows.Err()
}

// UserUpdate changes the non-nil fields.
type UserUpdate struct {
	Name     *string
	Username *string
	Bio      *string
	Photo    *string
}

// UpdateUser applies upd to user id and stamps updated_at.
func (tx *Tx) UpdateUser(ctx context.Context, id string, upd UserUpdate) error {
	sets := []string{"updated_at = ?"}
	args := []any{ms(tx.Now)}
	if upd.Name != nil {
		sets, args = append(sets, "name = ?"), append(args, *upd.Name)
	}
	if upd.Username != nil {
		sets, args = append(sets, "username = ?", "username_key = ?"), append(args, *upd.Username, strings.ToLower(*upd.Username))
	}
	if upd.Bio != nil {
		sets, args = append(sets, "bio = ?"), append(args, *upd.Bio)
	}
	if upd.Photo != nil {
		sets, args = append(sets, "photo = ?"), append(args, *upd.Photo)
	}
	args = append(args, id)
	res, err := tx.exec(ctx, `UPDATE users SET `+strings.Join(sets, ", ")+` WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("store: update user: %w", usernameConflict(err))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "user_not_found", "User")
	}
	return nil
}

// SetPasswordHash replaces user id's password hash.
func (tx *Tx) SetPasswordHash(ctx context.Context, id, hash string) error {
	res, err := tx.exec(ctx, `UPDATE users SET password_hash = ?, updated_at = ? WHERE id = ? AND deleted_at IS NULL`, hash, ms(tx.Now), id)
	if err != nil {
		return fmt.Errorf("store: set password: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound(sql.ErrNoRows, "user_not_found", "User")
	}
	return nil
}

// EraseUser turns user id into the deleted-user identity: name becomes
// name, username, password hash, bio and photo are cleared, deleted_at is
// set. username_key keeps the old username reserved (ReleaseUsername).
func (tx *Tx) EraseUser(ctx context.Context, id, name string) error {
	if _, err := tx.exec(ctx, `UPDATE users SET name = ?, username = '', password_hash = '', bio = '', photo = '',
		updated_at = ?, deleted_at = ? WHERE id = ?`, name, ms(tx.Now), ms(tx.Now), id); err != nil {
		return fmt.Errorf("store: erase user: %w", err)
	}
	return nil
}

// ReleaseUsername frees username (ignoring case) when a deleted account
// holds it and was deleted at or before cutoff: its key becomes '#' || id,
// which no valid username equals.
func (tx *Tx) ReleaseUsername(ctx context.Context, username string, cutoff time.Time) error {
	if _, err := tx.exec(ctx, `UPDATE users SET username_key = '#' || id
		WHERE username_key = ? AND deleted_at IS NOT NULL AND deleted_at <= ?`, strings.ToLower(username), ms(cutoff)); err != nil {
		return fmt.Errorf("store: release username: %w", err)
	}
	return nil
}

// UserFilter selects users for search. Search matches name or username
// (case-insensitive substring); Exclude removes ids (the caller);
// HiddenFor, when set, removes everyone who blocks that user or is blocked
// by them.
type UserFilter struct {
	Search    string
	Exclude   []string
	HiddenFor string
	Offset    int
	Limit     int
}

// FindUsers returns one page of matching users ordered by username, and the
// total number of matches.
func (tx *Tx) FindUsers(ctx context.Context, f UserFilter) ([]User, int, error) {
	where := `WHERE deleted_at IS NULL AND id NOT IN (SELECT value FROM json_each(?))`
	args := []any{jsonStrings(f.Exclude)}
	if f.HiddenFor != "" {
		where += ` AND NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.blocker_id = ? AND b.blocked_id = users.id) OR (b.blocked_id = ? AND b.blocker_id = users.id))`
		args = append(args, f.HiddenFor, f.HiddenFor)
	}
	if f.Search != "" {
		pat := "%" + escapeLike(strings.ToLower(f.Search)) + "%"
		where += ` AND (username_key LIKE ? ESCAPE '\' OR lower(name) LIKE ? ESCAPE '\')`
		args = append(args, pat, pat)
	}
	var total int
	if err := tx.queryRow(ctx, `SELECT count(*) FROM users `+where, args...).Scan(&total); err != nil {
		return nil, 0, fmt.Errorf("store: count users: %w", translate(err))
	}
	rows, err := tx.query(ctx, `SELECT `+userColumns+` FROM users `+where+` ORDER BY username_key LIMIT CAST(? AS INTEGER) OFFSET CAST(? AS INTEGER)`,
		append(args, f.Limit, f.Offset)...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: find users: %w", err)
	}
	defer rows.Close()
	var out []User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, fmt.Errorf("store: scan user: %w", err)
		}
		out = append(out, u)
	}
	return out, total, rows.Err()
}

func usernameConflict(err error) error {
	if e, ok := apperr.As(err); ok && e.Reason == reasonDuplicate {
		return conflict("username_taken", "That username is already taken")
	}
	return err
}
