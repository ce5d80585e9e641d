// Package integration holds the Docker-based suites: they build the real
// vibesyncd binary (static, CGO_ENABLED=0) into an image FROM scratch, run
// it in containers with ports published on 127.0.0.1 only, and check the
// scenarios described in README.md (end-to-end flow, crash safety, several
// instances on one database, schema upgrades, cut-off servers).
//
// The suites skip with a clear message when no Docker engine answers,
// except under CI=true, where a missing engine is a failure. Everything a
// run creates (image, containers, volumes, networks) carries the labels in
// labels() and is removed when the test that made it ends; resources left
// by a run on this host that died without cleaning up are removed by the
// next run.
package integration
