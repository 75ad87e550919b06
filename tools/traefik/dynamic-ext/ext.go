// Package ext is the box's stand-in for Traefik's dynamic configuration extension point. Traefik v3.7 embeds
// ext.HTTP in dynamic.HTTPConfiguration and ext.Router in dynamic.Router (pkg/config/dynamic/http_config.go)
// and copies them by value; nothing else reads them. Empty structs add no configuration fields, which is what
// the open-source Traefik the chart runs needs: its routers, services and middlewares are its own fields.
package ext

// HTTP is embedded in Traefik's HTTP dynamic configuration.
type HTTP struct{}

// Router is embedded in Traefik's HTTP router configuration.
type Router struct{}
