// Package manifests renders the kustomizations under deploy/ as
// `kubectl apply -k` does (the same kustomize/api release kubectl embeds) and
// decodes every object strictly into its Go type, so a misspelt or misplaced
// field is an error instead of a silently dropped setting. The static checks
// are this package's tests; test/integration applies the same objects to a
// real apiserver.
package manifests

import (
	"fmt"
	"path/filepath"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer/json"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// Kustomizations are the directories users apply, relative to the repository
// root. Base first: overlays are checked against it.
var Kustomizations = []string{
	"deploy/base",
	"deploy/overlays/kube-prometheus-stack",
	"deploy/overlays/per-node",
	"deploy/overlays/loadtest-job",
}

// Image is the repository of kubepulse's own image.
const Image = "ghcr.io/kubepulse/kubepulse"

// Object is one rendered object.
type Object struct {
	Kustomization string // as listed in Kustomizations
	GVK           schema.GroupVersionKind
	Namespace     string
	Name          string
	YAML          []byte         // as kustomize rendered it
	Typed         runtime.Object // strictly decoded
}

func (o Object) String() string {
	return fmt.Sprintf("%s: %s %s/%s", o.Kustomization, o.GVK.Kind, o.Namespace, o.Name)
}

// Scheme knows every kind deploy/ may contain: the built-in API groups and
// the prometheus-operator's monitoring.coreos.com/v1.
var Scheme = func() *runtime.Scheme {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		panic(err)
	}
	if err := monitoringv1.AddToScheme(s); err != nil {
		panic(err)
	}
	return s
}()

var strict = json.NewSerializerWithOptions(json.DefaultMetaFactory, Scheme, Scheme,
	json.SerializerOptions{Yaml: true, Strict: true})

// Render builds the kustomization in root/dir and strictly decodes every
// object. The error names the kustomization and the object.
func Render(root, dir string) ([]Object, error) {
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, filepath.FromSlash(dir)))
	if err != nil {
		return nil, fmt.Errorf("kustomize build %s: %w", dir, err)
	}
	var out []Object
	for _, r := range m.Resources() {
		y, err := r.AsYAML()
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", dir, r.CurId(), err)
		}
		obj, err := Decode(y)
		if err != nil {
			return nil, fmt.Errorf("%s: %s %s/%s: %w", dir, r.GetKind(), r.GetNamespace(), r.GetName(), err)
		}
		out = append(out, Object{
			Kustomization: dir,
			GVK:           obj.GetObjectKind().GroupVersionKind(),
			Namespace:     r.GetNamespace(),
			Name:          r.GetName(),
			YAML:          y,
			Typed:         obj,
		})
	}
	return out, nil
}

// Decode strictly decodes one YAML object into its registered Go type:
// unknown and duplicate fields, and kinds the scheme lacks, are errors.
func Decode(y []byte) (runtime.Object, error) {
	obj, _, err := strict.Decode(y, nil, nil)
	if err != nil {
		return nil, err
	}
	return obj, nil
}

// PodTemplate returns the pod template of a workload kind.
func PodTemplate(obj runtime.Object) (*corev1.PodTemplateSpec, bool) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return &o.Spec.Template, true
	case *appsv1.DaemonSet:
		return &o.Spec.Template, true
	case *appsv1.StatefulSet:
		return &o.Spec.Template, true
	case *batchv1.Job:
		return &o.Spec.Template, true
	case *batchv1.CronJob:
		return &o.Spec.JobTemplate.Spec.Template, true
	}
	return nil, false
}
