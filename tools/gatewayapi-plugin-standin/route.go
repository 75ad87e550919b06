package main

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/util/retry"
)

// The unstructured (dynamic) client needs no Gateway API Go types: only spec.rules[].backendRefs[] is touched.
var httpRoutes = schema.GroupVersionResource{Group: "gateway.networking.k8s.io", Version: "v1", Resource: "httproutes"}

// routeConfig is the part of the real plugin's configuration the platform uses.
type routeConfig struct {
	HTTPRoute string `json:"httpRoute"`
	Namespace string `json:"namespace"`
}

// target is the route to change and the backendRef names in it.
type target struct {
	namespace, route, canary, stable string
}

func targetOf(ro *v1alpha1.Rollout) (target, error) {
	canary := ro.Spec.Strategy.Canary
	if canary == nil || canary.TrafficRouting == nil {
		return target{}, fmt.Errorf("rollout %s/%s has no canary traffic routing", ro.Namespace, ro.Name)
	}
	var cfg routeConfig
	if err := json.Unmarshal(canary.TrafficRouting.Plugins[pluginName], &cfg); err != nil {
		return target{}, fmt.Errorf("rollout %s/%s: plugin %s config: %w", ro.Namespace, ro.Name, pluginName, err)
	}
	if cfg.HTTPRoute == "" {
		return target{}, fmt.Errorf("rollout %s/%s: plugin %s needs httpRoute (the only key this stand-in supports)", ro.Namespace, ro.Name, pluginName)
	}
	// As the real plugin: the route is in the Rollout's namespace unless said otherwise.
	if cfg.Namespace == "" {
		cfg.Namespace = ro.Namespace
	}
	return target{namespace: cfg.Namespace, route: cfg.HTTPRoute, canary: canary.CanaryService, stable: canary.StableService}, nil
}

// backendRefs calls visit with every backendRef of every rule of the route.
func backendRefs(route *unstructured.Unstructured, visit func(ref map[string]any)) {
	// NoCopy: visit changes the route's own maps.
	rules, _, _ := unstructured.NestedFieldNoCopy(route.Object, "spec", "rules")
	list, _ := rules.([]any)
	for _, rule := range list {
		r, _ := rule.(map[string]any)
		refs, _ := r["backendRefs"].([]any)
		for _, ref := range refs {
			if m, ok := ref.(map[string]any); ok {
				visit(m)
			}
		}
	}
}

// applyWeights gives the canary backendRefs `weight` and the stable ones 100-weight, in every rule; it fails,
// as the real plugin does, when the route names either Service nowhere.
func applyWeights(route *unstructured.Unstructured, t target, weight int32) error {
	canaryFound, stableFound := false, false
	backendRefs(route, func(ref map[string]any) {
		switch ref["name"] {
		case t.canary:
			ref["weight"], canaryFound = int64(weight), true
		case t.stable:
			ref["weight"], stableFound = int64(100-weight), true
		}
	})
	if !canaryFound || !stableFound {
		return fmt.Errorf("HTTPRoute %s/%s: no backendRef for canary Service %q and stable Service %q", t.namespace, t.route, t.canary, t.stable)
	}
	return nil
}

// holdsWeights says whether every canary and stable backendRef carries the weights applyWeights sets.
func holdsWeights(route *unstructured.Unstructured, t target, weight int32) bool {
	seen, holds := 0, true
	backendRefs(route, func(ref map[string]any) {
		want, named := map[any]int64{t.canary: int64(weight), t.stable: int64(100 - weight)}[ref["name"]]
		if named {
			seen++
			got, ok := ref["weight"].(int64)
			holds = holds && ok && got == want
		}
	})
	return holds && seen >= 2
}

func (s *standin) setWeight(ro *v1alpha1.Rollout, weight int32) error {
	t, err := targetOf(ro)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := s.client.Resource(httpRoutes).Namespace(t.namespace)
	// Someone else (a re-apply, Traefik's status update) may change the route between get and update.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		route, err := client.Get(ctx, t.route, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if err := applyWeights(route, t, weight); err != nil {
			return err
		}
		_, err = client.Update(ctx, route, metav1.UpdateOptions{})
		return err
	})
}

func (s *standin) holdsWeight(ro *v1alpha1.Rollout, weight int32) (bool, error) {
	t, err := targetOf(ro)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	route, err := s.client.Resource(httpRoutes).Namespace(t.namespace).Get(ctx, t.route, metav1.GetOptions{})
	if err != nil {
		return false, err
	}
	return holdsWeights(route, t, weight), nil
}
