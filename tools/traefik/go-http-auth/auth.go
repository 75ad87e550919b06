// Package auth is the box's stand-in for the Containous fork of go-http-auth that Traefik v3.7 builds with.
// Traefik's BasicAuth and DigestAuth middlewares (pkg/middlewares/auth) use: BasicAuth{Realm, Secrets} with
// RequireAuth and Secrets, CheckSecret, NewDigestAuthenticator, DigestAuthParams and DigestAuth's CheckAuth,
// RequireAuth and RequireAuthStale. All of them are the original module's, except RequireAuthStale, which
// only the fork has: the fork's CheckAuth reports "stale" for out-of-order nonces and Traefik then answers
// with stale=true. The original's CheckAuth never reports "stale", so Traefik never takes that path here;
// RequireAuthStale answers as RequireAuth does. The box routes with ForwardAuth and uses neither middleware.
package auth

import (
	"net/http"

	upstream "courseops.test/upstream/go-http-auth"
)

// SecretProvider is the original's.
type SecretProvider = upstream.SecretProvider

// BasicAuth is the original's.
type BasicAuth = upstream.BasicAuth

// CheckSecret is the original's.
func CheckSecret(password, secret string) bool { return upstream.CheckSecret(password, secret) }

// DigestAuthParams is the original's.
func DigestAuthParams(authorization string) map[string]string {
	return upstream.DigestAuthParams(authorization)
}

// DigestAuth is the original's, with the fork's RequireAuthStale.
type DigestAuth struct {
	*upstream.DigestAuth
}

// NewDigestAuthenticator is the original's.
func NewDigestAuthenticator(realm string, secrets SecretProvider) *DigestAuth {
	return &DigestAuth{upstream.NewDigestAuthenticator(realm, secrets)}
}

// RequireAuthStale answers 401 with a fresh challenge, as RequireAuth does (see the package comment).
func (da *DigestAuth) RequireAuthStale(w http.ResponseWriter, r *http.Request) {
	da.RequireAuth(w, r)
}
