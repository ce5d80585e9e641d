package ratelimit

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ClientAddr is the address budgets are kept for: the TCP peer of r, or,
// when the peer is one of the trusted proxies, the right-most address of
// X-Forwarded-For that is not a trusted proxy (addresses further left
// were written by the client and prove nothing). IPv6 addresses count by
// their /64, since one subscriber usually holds a whole /64.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := parseAddr(r.RemoteAddr)
	if peer.IsValid() && isTrusted(peer, trusted) {
		hops := forwardedFor(r.Header)
		for i := len(hops) - 1; i >= 0; i-- {
			a := parseAddr(hops[i])
			if !a.IsValid() {
				break // a malformed hop: stop at the last one we could read
			}
			peer = a
			if !isTrusted(a, trusted) {
				break
			}
		}
	}
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if peer.Is6() {
		p, _ := peer.Prefix(64)
		return p.String()
	}
	return peer.String()
}

func forwardedFor(h http.Header) []string {
	var hops []string
	for _, v := range h.Values("X-Forwarded-For") {
		for _, f := range strings.Split(v, ",") {
			hops = append(hops, strings.TrimSpace(f))
		}
	}
	return hops
}

func parseAddr(s string) netip.Addr {
	if host, _, err := net.SplitHostPort(s); err == nil {
		s = host
	}
	a, err := netip.ParseAddr(strings.Trim(s, "[]"))
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
