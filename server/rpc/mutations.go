package rpc

import (
	"context"

	"github.com/vibesync/vibesync/server/apperr"
	"github.com/vibesync/vibesync/server/social"
	syncv1 "github.com/vibesync/vibesync/syncproto/vibesync/sync/v1"
)

// codeUnimplemented rejects a mutation kind this server cannot run yet.
const codeUnimplemented apperr.Code = "unimplemented"

// apply runs one mutation through the same social method REST calls, with
// ctx joining the push's transaction.
func (s *Services) apply(ctx context.Context, c social.Caller, m *syncv1.Mutation) error {
	switch k := m.GetKind().(type) {
	case *syncv1.Mutation_UpdateProfile:
		_, err := s.svc.UpdateProfile(ctx, c, social.ProfileUpdate{
			Name: k.UpdateProfile.Name, Username: k.UpdateProfile.Username, Bio: k.UpdateProfile.Bio,
		})
		return err
	case nil:
		return apperr.Invalidf("mutation_empty", "The mutation has no body")
	default:
		return &apperr.Error{Code: codeUnimplemented, Reason: "mutation_unimplemented",
			Message: "This server does not implement this mutation yet"}
	}
}

func invalid(field, format string, args ...any) error {
	return apperr.InvalidField(field, format, args...)
}

func validClientID(id string) error {
	if len(id) < 16 || len(id) > 64 {
		return invalid("clientId", "clientId must be 16 to 64 characters")
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return invalid("clientId", "clientId may contain only letters, digits, '-' and '_'")
		}
	}
	return nil
}
