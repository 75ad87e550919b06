package main

import (
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

var web = target{namespace: "apps", route: "web", canary: "web-canary", stable: "web-stable"}

// A route shaped like the platform's: rules list both Services without weights; one rule also names another backend.
func platformRoute() *unstructured.Unstructured {
	ref := func(name string) any { return map[string]any{"name": name, "port": int64(80)} }
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "gateway.networking.k8s.io/v1", "kind": "HTTPRoute",
		"spec": map[string]any{"rules": []any{
			map[string]any{"backendRefs": []any{ref("web-stable"), ref("web-canary")}},
			map[string]any{"backendRefs": []any{ref("web-stable"), ref("web-canary"), ref("other")}},
		}},
	}}
}

func weights(route *unstructured.Unstructured) []any {
	var out []any
	backendRefs(route, func(ref map[string]any) { out = append(out, ref["name"], ref["weight"]) })
	return out
}

func TestApplyWeightsSetsCanaryAndStableInEveryRuleAndNothingElse(t *testing.T) {
	route := platformRoute()
	if err := applyWeights(route, web, 20); err != nil {
		t.Fatal(err)
	}
	want := []any{"web-stable", int64(80), "web-canary", int64(20), "web-stable", int64(80), "web-canary", int64(20), "other", nil}
	if got := weights(route); !reflect.DeepEqual(got, want) {
		t.Fatalf("weights = %v, want %v", got, want)
	}
	if !holdsWeights(route, web, 20) || holdsWeights(route, web, 60) {
		t.Fatal("holdsWeights must accept the weight just set and refuse another")
	}
}

func TestHoldsWeightsRefusesARouteWithoutWeights(t *testing.T) {
	// The route as our manifests apply it: no weights yet, so nothing is verified, not even 0.
	if holdsWeights(platformRoute(), web, 0) {
		t.Fatal("a route without weights must not verify")
	}
}

func TestApplyWeightsFailsWhenTheRouteLacksAService(t *testing.T) {
	err := applyWeights(platformRoute(), target{namespace: "apps", route: "web", canary: "web-canary", stable: "missing"}, 20)
	if err == nil || !strings.Contains(err.Error(), `stable Service "missing"`) {
		t.Fatalf("err = %v, want a missing backendRef error", err)
	}
}
