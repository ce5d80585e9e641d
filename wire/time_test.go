package wire

import (
	"encoding/json"
	"testing"
	"time"
)

func TestTimeJSONUsesMillisecondsUTC(t *testing.T) {
	at := time.Date(2025, 9, 10, 11, 55, 18, 123456789, time.FixedZone("CEST", 7200))
	b, err := json.Marshal(struct {
		At    Time `json:"at"`
		Unset Time `json:"unset,omitzero"`
	}{At: T(at)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `{"at":"2025-09-10T09:55:18.123Z"}`; got != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	var back struct{ At Time }
	if err := json.Unmarshal([]byte(`{"At":"2025-09-10T09:55:18.123Z"}`), &back); err != nil {
		t.Fatal(err)
	}
	if !back.At.Equal(T(at).Time) {
		t.Fatalf("round trip = %v", back.At)
	}
	if err := json.Unmarshal([]byte(`{"At":"yesterday"}`), &back); err == nil {
		t.Fatal("accepted a non-RFC 3339 time")
	}
}
