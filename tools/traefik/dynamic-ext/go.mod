// Our own stand-in for github.com/traefik/traefik/dynamic/ext, a nested module of Traefik's repository that
// Traefik's go.mod replaces with a relative path (./pkg/config/dynamic/ext) and that the Go module proxy does
// not serve (it is neither tagged nor in the v3 module's zip). See ext.go for what it provides.
module github.com/traefik/traefik/dynamic/ext

go 1.26.0
