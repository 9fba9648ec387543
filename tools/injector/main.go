// Command injector prints the pod that the Dapr sidecar injector (Dapr v1.18.3) would admit
// for a Deployment of rendered manifests: the pod its ReplicaSet creates, patched by the
// injector's own code (github.com/dapr/dapr/pkg/injector/patcher), with the injector
// configured as its Helm chart configures it by default.
//
//	kustomize build k8s/overlays/kubernetes | injector [-deployment product-service] [-print pod|patch]
//
// What is Dapr's code: parsing the injector's environment (service.GetConfig, the variables
// the chart's dapr_sidecar_injector Deployment sets, defaults and all), reading the pod's
// dapr.io/* annotations and their defaults (patcher.NewSidecarConfig, SetFromPodAnnotations),
// the sidecar container, its args, probes, ports, env and volumes, and the JSON patch
// (SidecarConfig.GetPatch), applied by patcher.PatchPod. What is ours: reading the manifests,
// the pod the ReplicaSet would create, the chart's values (chartEnv below), what the injector
// learns from the cluster at admission time (clusterFacts), and the wiring of its Config into
// the SidecarConfig, which repeats what getPodPatchOperations (pkg/injector/service/pod_patch.go,
// unexported, needs a cluster) does field by field. See docs/infrastructure.md.
//
// Built by scripts/infra (`scripts/infra up injector`, `scripts/infra injector-path`).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	"github.com/spiffe/go-spiffe/v2/spiffeid"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	injectorConsts "github.com/dapr/dapr/pkg/injector/consts"
	"github.com/dapr/dapr/pkg/injector/patcher"
	"github.com/dapr/dapr/pkg/injector/service"
	"github.com/dapr/dapr/pkg/security"
	"github.com/dapr/kit/logger"
)

// daprVersion is the version of the Dapr module this program is built with (go.mod), e.g.
// 1.18.3: the released chart of that version injects the sidecar image of that tag.
func daprVersion() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, dep := range info.Deps {
			if dep.Path == "github.com/dapr/dapr" {
				return strings.TrimPrefix(dep.Version, "v")
			}
		}
	}
	fail(errors.New("no github.com/dapr/dapr in this binary's build info"))
	return ""
}

// chartEnv is the environment that the Dapr Helm chart (charts/dapr in the Dapr module,
// v1.18.3, default values) gives the injector container in
// charts/dapr_sidecar_injector/templates/dapr_sidecar_injector_deployment.yaml, installed as
// the docs install it: `helm install dapr dapr/dapr --namespace dapr-system` (or
// `dapr init -k`, the same chart and namespace). service.GetConfig parses it.
func chartEnv() []struct{ name, value, why string } {
	return []struct{ name, value, why string }{
		{"NAMESPACE", "dapr-system", "fieldRef metadata.namespace: the release namespace"},
		// global.registry/image.name:global.tag; the chart in the source tree says tag "edge",
		// the released chart (and dapr init -k) sets the release version.
		{"SIDECAR_IMAGE", "ghcr.io/dapr/daprd:" + daprVersion(), "global.registry ghcr.io/dapr, image.name daprd, global.tag"},
		{"SIDECAR_IMAGE_PULL_POLICY", "IfNotPresent", "sidecarImagePullPolicy"},
		{"KUBE_CLUSTER_DOMAIN", "cluster.local", "kubeClusterDomain"},
		{"DAPR_TRUST_ANCHORS_FILE", "/var/run/secrets/dapr.io/tls/ca.crt", "fixed in the template"},
		{"DAPR_CONTROL_PLANE_TRUST_DOMAIN", "cluster.local", "global.mtls.controlPlaneTrustDomain"},
		{"DAPR_SENTRY_ADDRESS", "dapr-sentry.dapr-system.svc.cluster.local:443", "global.mtls.sentryAddress unset: the template's default"},
		{"SIDECAR_RUN_AS_NON_ROOT", "true", "sidecarRunAsNonRoot"},
		// SIDECAR_RUN_AS_USER / SIDECAR_RUN_AS_GROUP: not set (sidecarRunAsUser/Group unset).
		{"ENABLE_K8S_DOWNWARD_APIS", "false", "enableK8sDownwardAPIs"},
		{"SIDECAR_DROP_ALL_CAPABILITIES", "false", "sidecarDropALLCapabilities"},
		{"SIDECAR_READ_ONLY_ROOT_FILESYSTEM", "true", "sidecarReadOnlyRootFilesystem"},
		{"NATIVE_SIDECAR_ENABLED", "false", "nativeSidecar"},
		// ignoreEntrypointTolerations, as JSON (the chart's value is this list, escaped for YAML).
		{"IGNORE_ENTRYPOINT_TOLERATIONS", `[{"effect":"NoSchedule","key":"alibabacloud.com/eci"},{"effect":"NoSchedule","key":"azure.com/aci"},{"effect":"NoSchedule","key":"aws"},{"effect":"NoSchedule","key":"huawei.com/cci"}]`, "ignoreEntrypointTolerations"},
		{"ACTORS_ENABLED", "true", "global.actors.enabled"},
		{"ACTORS_SERVICE_NAME", "placement", "global.actors.serviceName"},
		{"ACTORS_SERVICE_ADDRESS", "dapr-placement-server:50005", "templates/_address_placement.tpl"},
		// REMINDERS_SERVICE_NAME / _ADDRESS: not set (global.reminders.serviceName "").
		// ALLOWED_SERVICE_ACCOUNTS(_PREFIX_NAMES): not set; they decide who may ask, not the patch.
	}
}

// The injector's command line in the chart: --scheduler-enabled={{ global.scheduler.enabled }}.
const chartSchedulerEnabled = true

// clusterFacts: what the real injector reads from the cluster or its own pod when a pod is
// admitted, as they are right after installing the chart.
type clusterFacts struct {
	// mTLSEnabled: Configuration "daprsystem" in the control-plane namespace, which the chart's
	// dapr_config subchart creates with spec.mtls.enabled = global.mtls.enabled (true).
	mTLSEnabled bool
	// trustAnchors: the PEM bundle of the cluster's Sentry (generated at install). Unknown
	// here: empty unless -trust-anchors names a file.
	trustAnchors []byte
	// injectorHasKubeToken: token.HasKubernetesToken() in the injector's pod; the chart's
	// injector pod mounts its service account token, so the sidecar gets the Sentry token volume.
	injectorHasKubeToken bool
}

func main() {
	var (
		in          = flag.String("f", "-", "rendered manifests (multi-document YAML); - is stdin")
		name        = flag.String("deployment", "product-service", "the Deployment whose pod template is patched")
		output      = flag.String("print", "pod", "pod: the patched pod; patch: the injector's JSON patch")
		anchorsFile = flag.String("trust-anchors", "", "PEM file for DAPR_TRUST_ANCHORS (the cluster Sentry's; default empty)")
		showConfig  = flag.Bool("show-config", false, "print the injector environment used, and exit")
	)
	flag.Parse()
	// Dapr's loggers write to stdout; keep stdout for the JSON.
	opts := logger.DefaultOptions()
	opts.OutputFile = "/dev/stderr"
	opts.OutputLevel = "warn"
	if err := logger.ApplyOptionsToLoggers(&opts); err != nil {
		fail(err)
	}
	facts := clusterFacts{mTLSEnabled: true, injectorHasKubeToken: true}
	if *anchorsFile != "" {
		b, err := os.ReadFile(*anchorsFile)
		if err != nil {
			fail(err)
		}
		facts.trustAnchors = b
	}
	if *showConfig {
		for _, e := range chartEnv() {
			fmt.Printf("%s=%s\t# %s\n", e.name, e.value, e.why)
		}
		fmt.Printf("--scheduler-enabled=%t\t# the injector's flag: global.scheduler.enabled\n", chartSchedulerEnabled)
		fmt.Printf("mTLS=%t\t# Configuration daprsystem (chart: global.mtls.enabled)\n", facts.mTLSEnabled)
		fmt.Printf("sentry-token-volume=%t\t# the injector pod has a service account token\n", facts.injectorHasKubeToken)
		fmt.Printf("trust-anchors=%d bytes\t# the cluster Sentry's CA bundle (-trust-anchors)\n", len(facts.trustAnchors))
		return
	}
	if *output != "pod" && *output != "patch" {
		fail(fmt.Errorf("-print must be pod or patch, not %q", *output))
	}

	manifests, err := readInput(*in)
	if err != nil {
		fail(err)
	}
	deployment, err := findDeployment(manifests, *name)
	if err != nil {
		fail(err)
	}
	pod := podOf(deployment)

	cfg, err := injectorConfig()
	if err != nil {
		fail(err)
	}
	patch, err := sidecarPatch(pod, cfg, facts)
	if err != nil {
		fail(err)
	}
	if len(patch) == 0 {
		fail(fmt.Errorf("the injector would not patch Deployment %s (dapr.io/enabled not true, or a daprd container already there)", *name))
	}

	var out any = patch
	if *output == "pod" {
		patched, err := patcher.PatchPod(pod, patch)
		if err != nil {
			fail(err)
		}
		out = patched
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "injector:", err)
	os.Exit(1)
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(path)
}

// findDeployment returns the apps/v1 Deployment called name; unknown fields are errors.
func findDeployment(manifests []byte, name string) (*appsv1.Deployment, error) {
	reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifests)))
	var found *appsv1.Deployment
	for {
		doc, err := reader.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		var meta metav1.TypeMeta
		if err := yaml.Unmarshal(doc, &meta); err != nil {
			return nil, err
		}
		if meta.APIVersion != "apps/v1" || meta.Kind != "Deployment" {
			continue
		}
		d := &appsv1.Deployment{}
		if err := yaml.UnmarshalStrict(doc, d); err != nil {
			return nil, fmt.Errorf("Deployment: %w", err)
		}
		if d.Name != name {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("two Deployments named %s", name)
		}
		found = d
	}
	if found == nil {
		return nil, fmt.Errorf("no Deployment %s in the manifests", name)
	}
	return found, nil
}

// podOf is the pod the Deployment's ReplicaSet asks the API server to create: the template's
// metadata and spec, in the Deployment's namespace, named by the API server (generateName).
func podOf(d *appsv1.Deployment) *corev1.Pod {
	namespace := d.Namespace
	if namespace == "" {
		namespace = metav1.NamespaceDefault
	}
	meta := *d.Spec.Template.ObjectMeta.DeepCopy()
	meta.Namespace = namespace
	meta.GenerateName = d.Name + "-"
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: meta,
		Spec:       *d.Spec.Template.Spec.DeepCopy(),
	}
}

// injectorConfig is the injector's Config as service.GetConfig reads it from the chart's
// environment (and nothing else of this process's environment).
func injectorConfig() (service.Config, error) {
	for _, e := range chartEnv() {
		if err := os.Setenv(e.name, e.value); err != nil {
			return service.Config{}, err
		}
	}
	for _, unset := range []string{
		"SIDECAR_RUN_AS_USER", "SIDECAR_RUN_AS_GROUP", "REMINDERS_SERVICE_NAME",
		"REMINDERS_SERVICE_ADDRESS", "ALLOWED_SERVICE_ACCOUNTS", "ALLOWED_SERVICE_ACCOUNTS_PREFIX_NAMES",
	} {
		os.Unsetenv(unset)
	}
	return service.GetConfig()
}

// sidecarPatch does for pod what the injector's getPodPatchOperations does for an admitted
// pod, with cfg as the injector's configuration and facts as what it reads from the cluster.
func sidecarPatch(pod *corev1.Pod, cfg service.Config, facts clusterFacts) (jsonpatch.Patch, error) {
	controlPlaneNamespace := security.CurrentNamespace() // the injector's NAMESPACE
	trustDomain, err := spiffeid.TrustDomainFromString(cfg.ControlPlaneTrustDomain)
	if err != nil {
		return nil, err
	}
	sentryID, err := security.SentryID(trustDomain, controlPlaneNamespace)
	if err != nil {
		return nil, err
	}

	sidecar := patcher.NewSidecarConfig(pod)
	sidecar.GetInjectedComponentContainers = func(appID, namespace string) ([]corev1.Container, error) {
		return nil, errors.New("dapr.io/inject-pluggable-components needs the cluster's Components; not supported here")
	}
	sidecar.Mode = injectorConsts.ModeKubernetes
	sidecar.Namespace = pod.Namespace
	sidecar.MTLSEnabled = facts.mTLSEnabled
	sidecar.Identity = pod.Namespace + ":" + pod.Spec.ServiceAccountName
	sidecar.IgnoreEntrypointTolerations = cfg.GetIgnoreEntrypointTolerations()
	sidecar.ImagePullPolicy = cfg.GetPullPolicy()
	sidecar.OperatorAddress = patcher.ServiceAPI.Address(cfg.Namespace, cfg.KubeClusterDomain)
	sidecar.SentryAddress = patcher.ServiceSentry.Address(cfg.Namespace, cfg.KubeClusterDomain)
	sidecar.RunAsNonRoot = cfg.GetRunAsNonRoot()
	sidecar.RunAsUser = cfg.GetRunAsUser()
	sidecar.RunAsGroup = cfg.GetRunAsGroup()
	sidecar.ReadOnlyRootFilesystem = cfg.GetReadOnlyRootFilesystem()
	sidecar.EnableK8sDownwardAPIs = cfg.GetEnableK8sDownwardAPIs()
	sidecar.SidecarDropALLCapabilities = cfg.GetDropCapabilities()
	sidecar.ControlPlaneNamespace = controlPlaneNamespace
	sidecar.ControlPlaneTrustDomain = cfg.ControlPlaneTrustDomain
	sidecar.SentrySPIFFEID = sentryID.String()
	sidecar.CurrentTrustAnchors = facts.trustAnchors
	sidecar.DisableTokenVolume = !facts.injectorHasKubeToken
	sidecar.KubeClusterDomain = cfg.KubeClusterDomain
	sidecar.SchedulerEnabled = chartSchedulerEnabled
	sidecar.EnableNativeSidecar = cfg.GetNativeSidecarEnabled()

	// Actors: the placement address unless actors are disabled or another actors service is named.
	if !cfg.GetActorsEnabled() {
		sidecar.ActorsService = ""
		sidecar.PlacementAddress = ""
	} else {
		actorsName, actorsService := cfg.GetActorsService()
		address := actorsService.Address(cfg.Namespace, cfg.KubeClusterDomain)
		if actorsName == "placement" {
			sidecar.ActorsService = ""
			sidecar.PlacementAddress = address
		} else {
			sidecar.ActorsService = actorsName + ":" + address
		}
	}
	if name, reminders, ok := cfg.GetRemindersService(); ok {
		sidecar.RemindersService = name + ":" + reminders.Address(cfg.Namespace, cfg.KubeClusterDomain)
	}
	sidecar.SidecarImage = cfg.SidecarImage

	// The pod's dapr.io/* annotations override all of the above where they apply.
	sidecar.SetFromPodAnnotations()

	return sidecar.GetPatch()
}
