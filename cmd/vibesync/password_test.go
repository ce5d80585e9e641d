package main

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// TestPasswordPromptOnATerminalDoesNotEcho: on a terminal, the password is
// read from a prompt with echo off, and the terminal echoes again after.
func TestPasswordPromptOnATerminalDoesNotEcho(t *testing.T) {
	t.Parallel()
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	defer tty.Close()

	var stderr bytes.Buffer
	s := &shell{env: env{getenv: func(string) string { return "" }, stdin: tty, stdout: &bytes.Buffer{}, stderr: &stderr}}
	type result struct {
		pw  string
		err error
	}
	done := make(chan result, 1)
	go func() {
		pw, err := s.password("password")
		done <- result{pw, err}
	}()

	// Type only once the prompt has turned echo off: the terminal driver
	// echoes as it receives, so typing earlier would echo whatever the code.
	for deadline := time.Now().Add(30 * time.Second); ; {
		tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if tio.Lflag&unix.ECHO == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the prompt never turned echo off")
		}
		time.Sleep(time.Millisecond) // polls the terminal's state, no timing asserted
	}
	if _, err := ptmx.Write([]byte("s3cret pass\n")); err != nil {
		t.Fatal(err)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the password was not read")
	}
	if r.err != nil || r.pw != "s3cret pass" {
		t.Fatalf("password %q, %v", r.pw, r.err)
	}
	if stderr.String() != "password: \n" {
		t.Fatalf("prompt %q", stderr.String())
	}

	// Everything the terminal showed up to a marker written after the
	// prompt: the prompt's echo-free input leaves nothing.
	if _, err := tty.Write([]byte("MARK\n")); err != nil {
		t.Fatal(err)
	}
	shown, err := bufio.NewReader(ptmx).ReadString('K')
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(shown, "s3cret") || shown != "MARK" {
		t.Fatalf("the terminal showed %q", shown)
	}
	// Echo is back on for whatever the user types next.
	tio, err := unix.IoctlGetTermios(int(tty.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Lflag&unix.ECHO == 0 {
		t.Fatal("echo stays off after the prompt")
	}
}
