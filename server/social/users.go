package social

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/vibesync/vibesync/oid"
	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/store"
	"github.com/vibesync/vibesync/wire"
)

// User is a user's public profile, in the API's JSON form.
type User struct {
	ID       string `json:"_id"`
	Name     string `json:"name"`
	Username string `json:"username"`
	Photo    string `json:"photo,omitempty"`
	Bio      string `json:"bio,omitempty"`
	// Status is the user's meet-me status while it is active; absent
	// otherwise (an expired status counts as none).
	Status *Status `json:"status,omitempty"`
	// Deleted marks the identity of a deleted account (named DeletedName,
	// no username): what replicas and embedded profiles show for it.
	Deleted bool `json:"deleted,omitempty"`
}

func userFrom(u store.User) User {
	return User{ID: u.ID, Name: u.Name, Username: u.Username, Photo: u.Photo, Bio: u.Bio, Deleted: !u.DeletedAt.IsZero()}
}

// Limits on profile fields.
const (
	MaxNameLen     = wire.MaxNameLen
	MaxBioLen      = wire.MaxBioLen
	MinUsernameLen = wire.MinUsernameLen
	MaxUsernameLen = wire.MaxUsernameLen
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
	if p := wire.UsernameProblem(u); p != "" {
		return apperr.InvalidField("username", "username %s", p)
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

// User returns the profile of user id as seen by viewer, with their active
// meet-me status. A user hidden from viewer by a block either way is not
// found.
func (s *Service) User(ctx context.Context, viewer, id string) (User, error) {
	if err := ValidID(FieldUserID, id); err != nil {
		return User{}, err
	}
	var out User
	err := s.db.Read(ctx, func(tx *store.Tx) error {
		u, err := visibleUser(ctx, tx, viewer, id)
		if err != nil {
			return err
		}
		us, err := withStatuses(ctx, tx, []store.User{u})
		if err != nil {
			return err
		}
		out = us[0]
		return nil
	})
	return out, err
}

// withStatuses turns rows into profiles carrying their active meet-me
// statuses (one query for all).
func withStatuses(ctx context.Context, tx *store.Tx, rows []store.User) ([]User, error) {
	ids := make([]string, len(rows))
	for i, u := range rows {
		ids[i] = u.ID
	}
	st, err := tx.ActiveStatuses(ctx, ids)
	if err != nil {
		return nil, err
	}
	out := make([]User, len(rows))
	for i, u := range rows {
		out[i] = userFrom(u)
		if v, ok := st[u.ID]; ok {
			out[i].Status = statusFrom(v)
		}
	}
	return out, nil
}

// MaxPhotoURLLen bounds a profile photo's URL.
const MaxPhotoURLLen = 2048

// ProfileUpdate changes the non-nil fields of the caller's profile.
type ProfileUpdate struct {
	Name     *string
	Username *string
	Bio      *string
	Photo    *string // an absolute http(s) URL of a hosted photo; "" removes it
}

// UpdateProfile validates and applies upd to the caller's profile. A
// username taken by someone else (ignoring case) is a conflict.
func (s *Service) UpdateProfile(ctx context.Context, c Caller, upd ProfileUpdate) (User, error) {
	var out User
	err := s.db.Write(ctx, func(tx *store.Tx) (err error) {
		out, err = s.updateProfile(ctx, tx, c, upd)
		return err
	})
	return out, err
}

func (s *Service) updateProfile(ctx context.Context, tx *store.Tx, c Caller, upd ProfileUpdate) (User, error) {
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
	if upd.Photo != nil {
		p := strings.TrimSpace(*upd.Photo)
		if len(p) > MaxPhotoURLLen {
			return User{}, apperr.InvalidField("photo", "photo must be at most %d bytes", MaxPhotoURLLen)
		}
		if p != "" {
			if err := validFileURL("photo", p); err != nil {
				return User{}, err
			}
		}
		su.Photo = &p
	}
	if su.Username != nil {
		if err := s.releaseUsername(ctx, tx, *su.Username); err != nil {
			return User{}, err
		}
	}
	if err := tx.UpdateUser(ctx, c.UserID, su); err != nil {
		return User{}, err
	}
	return replicateUser(ctx, tx, c.UserID)
}

// SearchUsers lists users whose name or username contains search (any user
// when search is empty), ordered by username. The viewer is left out, and
// so is everyone hidden from them by a block either way.
func (s *Service) SearchUsers(ctx context.Context, viewer, search string, p Page) ([]User, int, error) {
	search = strings.TrimSpace(search)
	if utf8.RuneCountInString(search) > MaxNameLen {
		return nil, 0, apperr.InvalidField("search", "search must be at most %d characters", MaxNameLen)
	}
	var rows []store.User
	var out []User
	var total int
	err := s.db.Read(ctx, func(tx *store.Tx) (err error) {
		rows, total, err = tx.FindUsers(ctx, store.UserFilter{Search: search, Exclude: []string{viewer}, HiddenFor: viewer, Offset: p.Offset, Limit: p.Limit})
		if err != nil {
			return err
		}
		out, err = withStatuses(ctx, tx, rows)
		return err
	})
	if err != nil {
		return nil, 0, err
	}
	return out, total, nil
}
