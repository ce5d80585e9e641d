package social

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
)

// User is a user's public profile, in the API's JSON form.
type User struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Photo    string `json:"photo,omitempty"`
	Bio      string `json:"bio,omitempty"`
}

func userFrom(u store.User) User {
	return User{ID: u.ID, Name: u.Name, Username: u.Username, Photo: u.Photo, Bio: u.Bio}
}

// Limits on profile fields.
const (
	MaxNameLen     = 100
	MaxBioLen      = 500
	MinUsernameLen = 3
	MaxUsernameLen = 30
	MinPasswordLen = 8
	MaxPasswordLen = 128
)

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "", apperr.InvalidField("name", "name is required")
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return "", apperr.InvalidField("name", "name must be at most %d characters", MaxNameLen)
	}
	return name, nil
}

func validUsername(u string) error {
	if len(u) < MinUsernameLen || len(u) > MaxUsernameLen {
		return apperr.InvalidField("username", "username must be %d to %d characters", MinUsernameLen, MaxUsernameLen)
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_') {
			return apperr.InvalidField("username", "username may contain only letters, digits, '.' and '_'")
		}
	}
	return nil
}

func validPassword(p string) error {
	n := utf8.RuneCountInString(p)
	if n < MinPasswordLen || n > MaxPasswordLen {
		return apperr.InvalidField("password", "password must be %d to %d characters", MinPasswordLen, MaxPasswordLen)
	}
	return nil
}

func validBio(b string) (string, error) {
	b = strings.TrimSpace(b)
	if utf8.RuneCountInString(b) > MaxBioLen {
		return "", apperr.InvalidField("bio", "bio must be at most %d characters", MaxBioLen)
	}
	return b, nil
}

// ValidID checks that id is a well-formed identifier; field names it in the error.
func ValidID(field, id string) error {
	if !oid.Valid(id) {
		return apperr.InvalidField(field, "%s must be a 24-character hex id", field)
	}
	return nil
}

// Me returns the caller's profile.
func (s *Service) Me(ctx context.Context, userID string) (User, error) {
	return s.User(ctx, userID, userID)
}

// User returns the profile of user id as seen by viewer.
func (s *Service) User(ctx context.Context, viewer, id string) (User, error) {
	if err := ValidID("id", id); err != nil {
		return User{}, err
	}
	var u store.User
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		u, err = tx.User(ctx, id)
		return err
	})
	if err != nil {
		return User{}, err
	}
	return userFrom(u), nil
}

// ProfileUpdate changes the non-nil fields of the caller's profile.
type ProfileUpdate struct {
	Name     *string
	Username *string
	Bio      *string
}

// UpdateProfile validates and applies upd to the caller's profile. A
// username taken by someone else (ignoring case) is a conflict.
func (s *Service) UpdateProfile(ctx context.Context, c Caller, upd ProfileUpdate) (User, error) {
	var su store.UserUpdate
	if upd.Name != nil {
		n, err := validName(*upd.Name)
		if err != nil {
			return User{}, err
		}
		su.Name = &n
	}
	if upd.Username != nil {
		if err := validUsername(*upd.Username); err != nil {
			return User{}, err
		}
		su.Username = upd.Username
	}
	if upd.Bio != nil {
		b, err := validBio(*upd.Bio)
		if err != nil {
			return User{}, err
		}
		su.Bio = &b
	}
	var out User
	err := s.write(ctx, func(tx *store.Tx) error {
		if err := tx.UpdateUser(ctx, c.UserID, su); err != nil {
			return err
		}
		u, err := tx.User(ctx, c.UserID)
		if err != nil {
			return err
		}
		out = userFrom(u)
		return put(ctx, tx, EntityUser, u.ID, out, UserBucket(u.ID))
	})
	return out, err
}

// SearchUsers lists users whose name or username contains search (any user
// when search is empty), ordered by username. The viewer is left out.
func (s *Service) SearchUsers(ctx context.Context, viewer, search string, p Page) ([]User, int, error) {
	search = strings.TrimSpace(search)
	if utf8.RuneCountInString(search) > MaxNameLen {
		return nil, 0, apperr.InvalidField("search", "search must be at most %d characters", MaxNameLen)
	}
	var rows []store.User
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		rows, total, err = tx.FindUsers(ctx, store.UserFilter{Search: search, Exclude: []string{viewer}, Offset: p.Offset, Limit: p.Limit})
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	out := make([]User, len(rows))
	for i, u := range rows {
		out[i] = userFrom(u)
	}
	return out, total, nil
}
