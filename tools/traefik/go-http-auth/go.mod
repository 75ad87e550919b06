// Our own stand-in for Traefik's fork of github.com/abbot/go-http-auth (github.com/containous/go-http-auth at
// v0.4.1-0.20260804094822-b975dcaa8c48), which the Go module proxy refuses ("403: This module version is not
// available"; no version of that fork is served). It delegates to the original module, required under the
// alias path courseops.test/upstream/go-http-auth (tools/traefik/go.mod replaces it with github.com/abbot/go-http-auth),
// and adds the one method Traefik v3.7 calls that the original lacks (auth.go).
module github.com/abbot/go-http-auth

go 1.26.0

require courseops.test/upstream/go-http-auth v0.0.0
