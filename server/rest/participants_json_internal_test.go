package rest

import (
	"fmt"
	"testing"

	"github.com/vibesync/vibesync/server/social"
)

// A shared list is encoded once: writing it again, with any presence,
// copies the kept bytes and allocates nothing.
func TestParticipantListEncodesOnce(t *testing.T) {
	items := make([]social.Participant, 100)
	online := make([]bool, len(items))
	for i := range items {
		items[i] = social.Participant{ID: fmt.Sprintf("p%d", i), Chat: "c", User: social.UserRef{ID: fmt.Sprintf("u%d", i), Name: "N", Populated: i%7 != 0}}
		online[i] = i%3 == 0
	}
	l := &social.ParticipantList{Items: items}
	first := appendParticipants(nil, l, online)
	buf := make([]byte, 0, 2*len(first))
	allocs := testing.AllocsPerRun(10, func() { buf = appendParticipants(buf[:0], l, online) })
	if allocs != 0 {
		t.Fatalf("a second write allocated %v times; the encoding is not kept", allocs)
	}
	if string(buf) != string(first) {
		t.Fatalf("second write differs:\n%s\n%s", buf, first)
	}
}
