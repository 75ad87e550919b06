// Command gatewayapi-plugin-standin is a STAND-IN, written for courseops, for the Argo Rollouts Gateway API
// traffic-router plugin argoproj-labs/gatewayAPI v0.15.0 (github.com/argoproj-labs/rollouts-plugin-trafficrouter-gatewayapi).
// The product's cluster loads the real plugin; the box (scripts/box) cannot build it, because the Go module
// proxy serves no version of it. So the box's real Argo Rollouts v1.9.0 controller loads this program instead,
// exactly as it would load the real one: same plugin name, a file:// location in the argo-rollouts-config
// ConfigMap, the same handshake, and the same Rollout configuration keys (httpRoute, namespace).
//
// It does only what the platform's canaries use: set the weights of the stable and canary Services'
// backendRefs of one HTTPRoute. Header routes, mirroring, route selectors and GRPC/TCP/TLS routes are not
// implemented, and it does not set the real plugin's in-progress label on the route.
package main

import (
	"fmt"
	"os"

	"github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1"
	"github.com/argoproj/argo-rollouts/rollout/trafficrouting/plugin/rpc"
	"github.com/argoproj/argo-rollouts/utils/plugin/types"
	goPlugin "github.com/hashicorp/go-plugin"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"
)

// pluginName is the name the Rollout's trafficRouting.plugins and the ConfigMap use for the real plugin.
const pluginName = "argoproj-labs/gatewayAPI"

// The controller refuses a plugin whose handshake differs (rollout/trafficrouting/plugin/client in v1.9.0).
var handshake = goPlugin.HandshakeConfig{ProtocolVersion: 1, MagicCookieKey: "ARGO_ROLLOUTS_RPC_PLUGIN", MagicCookieValue: "trafficrouter"}

type standin struct{ client dynamic.Interface }

// stderr is the process's own, taken before goPlugin.Serve points os.Stderr at a pipe it discards (net/rpc
// plugins); the controller copies what the plugin writes there into its own log.
var stderr = os.Stderr

func logf(format string, args ...any) { fmt.Fprintf(stderr, "gatewayapi-plugin-standin: "+format+"\n", args...) }

func rpcError(err error) types.RpcError {
	if err == nil {
		return types.RpcError{}
	}
	return types.RpcError{ErrorString: err.Error()}
}

// InitPlugin builds the Kubernetes client as the real plugin does: the default loading rules, so KUBECONFIG
// (inherited from the controller's environment) out of cluster, the pod's service account in cluster.
func (s *standin) InitPlugin() types.RpcError {
	config, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(), &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return rpcError(err)
	}
	s.client, err = dynamic.NewForConfig(config)
	logf("initialised against %s", config.Host)
	return rpcError(err)
}

// UpdateHash: weights go to Services, whose selectors the controller itself points at the pod hashes.
func (s *standin) UpdateHash(*v1alpha1.Rollout, string, string, []v1alpha1.WeightDestination) types.RpcError {
	return types.RpcError{}
}

func (s *standin) SetWeight(ro *v1alpha1.Rollout, desiredWeight int32, _ []v1alpha1.WeightDestination) types.RpcError {
	err := s.setWeight(ro, desiredWeight)
	if err == nil {
		logf("%s/%s: canary weight %d", ro.Namespace, ro.Name, desiredWeight)
	}
	return rpcError(err)
}

// VerifyWeight reads the route back (the real plugin answers Verified without looking).
func (s *standin) VerifyWeight(ro *v1alpha1.Rollout, desiredWeight int32, _ []v1alpha1.WeightDestination) (types.RpcVerified, types.RpcError) {
	ok, err := s.holdsWeight(ro, desiredWeight)
	if err != nil || !ok {
		return types.NotVerified, rpcError(err)
	}
	return types.Verified, types.RpcError{}
}

// SetHeaderRoute is a no-op that reports success: the platform's canaries use no header-based steps.
func (s *standin) SetHeaderRoute(*v1alpha1.Rollout, *v1alpha1.SetHeaderRoute) types.RpcError {
	return types.RpcError{}
}

// SetMirrorRoute is a no-op that reports success: the platform's canaries mirror no traffic.
func (s *standin) SetMirrorRoute(*v1alpha1.Rollout, *v1alpha1.SetMirrorRoute) types.RpcError {
	return types.RpcError{}
}

// RemoveManagedRoutes is a no-op that reports success: this stand-in never adds managed routes.
func (s *standin) RemoveManagedRoutes(*v1alpha1.Rollout) types.RpcError { return types.RpcError{} }

func (s *standin) Type() string { return pluginName }

func main() {
	goPlugin.Serve(&goPlugin.ServeConfig{
		HandshakeConfig: handshake,
		Plugins:         map[string]goPlugin.Plugin{"RpcTrafficRouterPlugin": &rpc.RpcTrafficRouterPlugin{Impl: &standin{}}},
	})
}
