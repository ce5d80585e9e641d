package wire

import "strconv"

// UsernameProblem says what is wrong with a username, as the end of a
// sentence about it ("must be 3 to 30 characters"), or "" when it is
// acceptable: MinUsernameLen to MaxUsernameLen bytes of ASCII letters,
// digits, '.' and '_'. The server refuses what it names; the client
// refuses the same before it queues a change.
func UsernameProblem(u string) string {
	if len(u) < MinUsernameLen || len(u) > MaxUsernameLen {
		return "must be " + strconv.Itoa(MinUsernameLen) + " to " + strconv.Itoa(MaxUsernameLen) + " characters"
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_') {
			return "may contain only letters, digits, '.' and '_'"
		}
	}
	return ""
}
