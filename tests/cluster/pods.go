// koalja-pods: the node side of the local cluster's pods, for the namespaces that
// ask for it (label koalja.dev/pods=run). kwok makes every pod Running and Ready
// and gives it an address, but runs nothing; this program runs what the pod spec
// says, as a kubelet and a container runtime would, closely enough for the agents'
// tests:
//
//   - each pod gets a network namespace of its own with the address kwok gave it,
//     on a veth pair routed from this machine (a /32 route per pod, as Calico
//     does), so the API server's service proxy and the other pods reach it;
//
//   - names resolve through a small DNS server on the host end (dns.go): a
//     Service's name to the addresses of the running pods behind it;
//
//   - each container runs in a mount namespace of its own, chrooted into a root
//     made of the image (the host's programs stand for every image; the agent
//     image is the binary given by -agent-binary), its volumes bound at their
//     mount paths (emptyDir and claims as directories, claims kept across pods;
//     ConfigMaps and Secrets written as files), its env, its user and group;
//
//   - init containers run one after another to completion, then the containers,
//     each restarted when it exits (restartPolicy Always), until the pod goes.
//     A pod's successor of the same name (a StatefulSet's) starts only once every
//     process of the old one is gone, so no two agents ever share a claim.
//
//   - the pod's status is reported from its processes (status.go) and its
//     probes are run (probes.go), as a kubelet does: a pod is Ready when
//     its containers run and pass their readiness probes, a container's
//     restarts, exit codes and CrashLoopBackOff are shown.
//
// Not done: resources are not limited, and exec probes are not run.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	listers "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/workqueue"
)

// The label a namespace carries when its pods are to run.
const runLabel, runValue = "koalja.dev/pods", "run"

type runner struct {
	client      kubernetes.Interface
	pods        listers.PodLister
	services    listers.ServiceLister
	claims      listers.PersistentVolumeClaimLister
	namespaces  listers.NamespaceLister
	queue       workqueue.TypedRateLimitingInterface[string]
	root        string // pods' directories; claims under root/claims
	logs        string // containers' logs, kept after their pods
	agentBinary string // stands for /koalja-agent of the agent image
	agentImage  string // an image whose name contains this is the agent image
	hostIP      string // the host end of every pod's veth, and the DNS server
	mu          sync.Mutex
	running     map[string]*pod // by namespace/name
	leaving     bool            // stopping every pod, starting none
}

// A pod this program runs.
type pod struct {
	key, namespace, name string
	uid                  types.UID
	ip, netns, veth, dir string
	// Between SIGTERM and SIGKILL when the pod goes: its
	// terminationGracePeriodSeconds (30 s unless it says otherwise).
	grace    time.Duration
	status   *podStatus
	stop     chan struct{}
	stopOnce sync.Once
}

func runPods(args []string) int {
	flags := flag.NewFlagSet("koalja-pods", flag.ContinueOnError)
	kubeconfig := flags.String("kubeconfig", "", "admin kube config")
	root := flags.String("root", "", "directory for pods and claims")
	logs := flags.String("logs", "", "directory for containers' logs")
	agentBinary := flags.String("agent-binary", "", "the koalja-agent binary that stands for the agent image")
	agentImage := flags.String("agent-image", "koalja-agent", "a substring naming the agent image")
	hostIP := flags.String("host-ip", "10.245.0.1", "the host end of the pods' veths, where DNS answers")
	if err := flags.Parse(args[1:]); err != nil {
		return 2
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		log.Printf("kube config: %v", err)
		return 1
	}
	client := kubernetes.NewForConfigOrDie(config)
	factory := informers.NewSharedInformerFactory(client, 30*time.Second)
	r := &runner{
		client:      client,
		pods:        factory.Core().V1().Pods().Lister(),
		services:    factory.Core().V1().Services().Lister(),
		claims:      factory.Core().V1().PersistentVolumeClaims().Lister(),
		namespaces:  factory.Core().V1().Namespaces().Lister(),
		queue:       workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		root:        *root,
		logs:        *logs,
		agentBinary: *agentBinary,
		agentImage:  *agentImage,
		hostIP:      *hostIP,
		running:     map[string]*pod{},
	}
	enqueue := func(object any) {
		if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(object); err == nil {
			r.queue.Add(key)
		}
	}
	factory.Core().V1().Pods().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: enqueue, UpdateFunc: func(_, object any) { enqueue(object) }, DeleteFunc: enqueue,
	})
	// A namespace labelled (or unlabelled) later: look at its pods again.
	onNamespace := func(object any) {
		if namespace, ok := object.(*corev1.Namespace); ok {
			pods, _ := r.pods.Pods(namespace.Name).List(labels.Everything())
			for _, p := range pods {
				r.queue.Add(p.Namespace + "/" + p.Name)
			}
		}
	}
	factory.Core().V1().Namespaces().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: onNamespace, UpdateFunc: func(_, object any) { onNamespace(object) },
	})
	factory.Core().V1().Services().Informer()
	// A claim's directory is its volume: made for the claim (by its uid, so
	// a namespace made anew starts empty), removed with it, as the
	// default StorageClass's reclaim policy Delete does.
	factory.Core().V1().PersistentVolumeClaims().Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(object any) {
			if tombstone, ok := object.(cache.DeletedFinalStateUnknown); ok {
				object = tombstone.Obj
			}
			if claim, ok := object.(*corev1.PersistentVolumeClaim); ok {
				_ = os.RemoveAll(r.claimDir(claim))
			}
		},
	})
	ctx := context.Background()
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())
	go func() {
		if err := serveDNS(r.hostIP+":53", r); err != nil {
			log.Printf("dns: %v", err)
			os.Exit(1)
		}
	}()
	// Stopped (scripts/cluster.sh down): every pod's processes end with it,
	// as a node's do when its kubelet and runtime go.
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		r.stopAll(20 * time.Second)
		os.Exit(0)
	}()
	log.Printf("running the pods of namespaces labelled %s=%s", runLabel, runValue)
	for {
		key, quit := r.queue.Get()
		if quit {
			return 0
		}
		if err := r.reconcile(key); err != nil {
			log.Printf("%s: %v (retrying)", key, err)
			r.queue.AddRateLimited(key)
		} else {
			r.queue.Forget(key)
		}
		r.queue.Done(key)
	}
}

// wanted: the pod as it should run now, or nil when nothing of it should.
func (r *runner) wanted(key string) *corev1.Pod {
	namespace, name, _ := cache.SplitMetaNamespaceKey(key)
	p, err := r.pods.Pods(namespace).Get(name)
	// kwok gives the pod its address (its pod-create stage); from then on
	// its status is this program's.
	if err != nil || p.DeletionTimestamp != nil || p.Spec.NodeName == "" || p.Status.PodIP == "" ||
		p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
		return nil
	}
	ns, err := r.namespaces.Get(namespace)
	if err != nil || ns.Labels[runLabel] != runValue {
		return nil
	}
	return p
}

// stopAll stops every pod and waits (up to `limit`) until each is gone.
func (r *runner) stopAll(limit time.Duration) {
	r.mu.Lock()
	r.leaving = true
	for _, p := range r.running {
		p.stopOnce.Do(func() { close(p.stop) })
	}
	r.mu.Unlock()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		r.mu.Lock()
		left := len(r.running)
		r.mu.Unlock()
		if left == 0 {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (r *runner) reconcile(key string) error {
	want := r.wanted(key)
	r.mu.Lock()
	current := r.running[key]
	if r.leaving {
		want = nil
	}
	r.mu.Unlock()
	if current != nil {
		if want == nil || want.UID != current.uid {
			// Asynchronous: when its last process is gone, the key comes back.
			current.stopOnce.Do(func() { close(current.stop) })
		} else if !current.status.agrees(want) {
			current.status.poke() // someone else wrote its status (see status.go)
		}
		return nil
	}
	if want == nil {
		return nil
	}
	return r.start(want)
}

func (r *runner) start(spec *corev1.Pod) error {
	id := string(spec.UID)[:8]
	p := &pod{
		key:       spec.Namespace + "/" + spec.Name,
		namespace: spec.Namespace,
		name:      spec.Name,
		uid:       spec.UID,
		ip:        spec.Status.PodIP,
		netns:     "kp-" + id,
		veth:      "kh" + id,
		dir:       filepath.Join(r.root, spec.Namespace, spec.Name+"-"+id),
		grace:     30 * time.Second,
		status:    newPodStatus(spec),
		stop:      make(chan struct{}),
	}
	if seconds := spec.Spec.TerminationGracePeriodSeconds; seconds != nil {
		p.grace = time.Duration(*seconds) * time.Second
	}
	if _, err := os.Stat(r.agentBinary); err != nil {
		return fmt.Errorf("the agent binary: %v", err)
	}
	if err := r.network(p); err != nil {
		r.cleanup(p)
		return err
	}
	containers, err := r.prepare(p, spec)
	if err != nil {
		r.cleanup(p)
		return err
	}
	r.mu.Lock()
	r.running[p.key] = p
	r.mu.Unlock()
	log.Printf("%s: started at %s (%d init, %d containers)", p.key, p.ip, len(spec.Spec.InitContainers), len(spec.Spec.Containers))
	go r.report(p)
	go r.lifecycle(p, spec, containers)
	return nil
}

// network: the pod's namespace, its veth and the routes both ways.
func (r *runner) network(p *pod) error {
	steps := [][]string{
		{"netns", "add", p.netns},
		{"link", "add", p.veth, "type", "veth", "peer", "name", "eth0", "netns", p.netns},
		{"addr", "add", r.hostIP + "/32", "dev", p.veth},
		{"link", "set", p.veth, "up"},
		{"route", "replace", p.ip + "/32", "dev", p.veth, "src", r.hostIP},
		{"-n", p.netns, "link", "set", "lo", "up"},
		{"-n", p.netns, "addr", "add", p.ip + "/32", "dev", "eth0"},
		{"-n", p.netns, "link", "set", "eth0", "up"},
		{"-n", p.netns, "route", "add", r.hostIP + "/32", "dev", "eth0"},
		{"-n", p.netns, "route", "add", "default", "via", r.hostIP, "dev", "eth0"},
	}
	for _, step := range steps {
		if out, err := exec.Command("ip", step...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(step, " "), err, out)
		}
	}
	return nil
}

// What pod-init is handed for one container (see podInit).
type containerSpec struct {
	Name   string   `json:"name"`
	Root   string   `json:"root"`
	Mounts []mount  `json:"mounts"`
	Env    []string `json:"env"`
	Argv   []string `json:"argv"`
	Dir    string   `json:"dir"`
	UID    int      `json:"uid"`
	GID    int      `json:"gid"`
	Groups []int    `json:"groups"`
}

type mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"readOnly"`
	File     bool   `json:"file"`
}

// prepare: the pod's volumes as directories and files, /etc, and each
// container's spec (init containers first).
func (r *runner) prepare(p *pod, spec *corev1.Pod) ([]containerSpec, error) {
	uid, gid, fsGroup := 0, 0, -1
	if sc := spec.Spec.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			uid = int(*sc.RunAsUser)
		}
		if sc.RunAsGroup != nil {
			gid = int(*sc.RunAsGroup)
		}
		if sc.FSGroup != nil {
			fsGroup = int(*sc.FSGroup)
		}
	}
	owner := func(path string) error {
		group := gid
		if fsGroup >= 0 {
			group = fsGroup
		}
		if err := os.Chown(path, uid, group); err != nil {
			return err
		}
		return os.Chmod(path, 0o2775)
	}
	volumes := map[string]string{}
	for _, volume := range spec.Spec.Volumes {
		path, err := r.volume(p, spec, volume, owner)
		if err != nil {
			return nil, fmt.Errorf("volume %s: %v", volume.Name, err)
		}
		volumes[volume.Name] = path
	}
	etc := filepath.Join(p.dir, "etc")
	tmp := filepath.Join(p.dir, "tmp")
	for _, dir := range []string{etc, tmp} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(tmp, 0o1777); err != nil {
		return nil, err
	}
	files := map[string]string{
		"hosts": fmt.Sprintf("127.0.0.1 localhost\n%s %s\n", p.ip, spec.Name),
		"resolv.conf": fmt.Sprintf("nameserver %s\nsearch %s.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n",
			r.hostIP, spec.Namespace),
		"passwd":   fmt.Sprintf("root:x:0:0:root:/root:/bin/sh\nnonroot:x:%d:%d:nonroot:/tmp:/bin/sh\n", uid, gid),
		"group":    fmt.Sprintf("root:x:0:\nnonroot:x:%d:\n", gid),
		"hostname": spec.Name + "\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(etc, name), []byte(text), 0o644); err != nil {
			return nil, err
		}
	}
	var containers []containerSpec
	all := append(append([]corev1.Container{}, spec.Spec.InitContainers...), spec.Spec.Containers...)
	for _, c := range all {
		root := filepath.Join(p.dir, "root-"+c.Name)
		if err := os.MkdirAll(root, 0o755); err != nil {
			return nil, err
		}
		// The image: the host's programs and libraries (read-only), and for the
		// agent image its one binary besides.
		var mounts []mount
		for _, dir := range []string{"/usr", "/bin", "/sbin", "/lib", "/lib64"} {
			if target, err := os.Readlink(dir); err == nil {
				_ = os.Symlink(target, filepath.Join(root, dir)) // merged /usr
			} else if _, err := os.Stat(dir); err == nil {
				mounts = append(mounts, mount{Source: dir, Target: dir, ReadOnly: true})
			}
		}
		if strings.Contains(c.Image, r.agentImage) {
			mounts = append(mounts, mount{Source: r.agentBinary, Target: "/koalja-agent", ReadOnly: true, File: true})
		}
		mounts = append(mounts,
			mount{Source: "/dev", Target: "/dev"},
			mount{Source: "/proc", Target: "/proc"},
			mount{Source: etc, Target: "/etc", ReadOnly: true},
			mount{Source: tmp, Target: "/tmp"})
		for _, vm := range c.VolumeMounts {
			source, ok := volumes[vm.Name]
			if !ok {
				return nil, fmt.Errorf("container %s mounts unknown volume %s", c.Name, vm.Name)
			}
			if vm.SubPath != "" {
				source = filepath.Join(source, vm.SubPath)
			}
			mounts = append(mounts, mount{Source: source, Target: vm.MountPath, ReadOnly: vm.ReadOnly})
		}
		cuid, cgid := uid, gid
		if sc := c.SecurityContext; sc != nil {
			if sc.RunAsUser != nil {
				cuid = int(*sc.RunAsUser)
			}
			if sc.RunAsGroup != nil {
				cgid = int(*sc.RunAsGroup)
			}
		}
		groups := []int{cgid}
		if fsGroup >= 0 {
			groups = append(groups, fsGroup)
		}
		env, err := r.environment(spec, c)
		if err != nil {
			return nil, fmt.Errorf("container %s: %v", c.Name, err)
		}
		argv := append(append([]string{}, c.Command...), c.Args...)
		if len(c.Command) == 0 {
			return nil, fmt.Errorf("container %s has no command (an image's entrypoint is not known here)", c.Name)
		}
		containers = append(containers, containerSpec{
			Name: c.Name, Root: root, Mounts: mounts, Env: env, Argv: argv, Dir: c.WorkingDir,
			UID: cuid, GID: cgid, Groups: groups,
		})
	}
	return containers, nil
}

// volume: the directory that stands for one volume of the pod.
func (r *runner) volume(p *pod, spec *corev1.Pod, volume corev1.Volume, owner func(string) error) (string, error) {
	ctx := context.Background()
	dir := filepath.Join(p.dir, "volumes", volume.Name)
	switch {
	case volume.EmptyDir != nil:
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		return dir, owner(dir)
	case volume.PersistentVolumeClaim != nil:
		claim, err := r.claims.PersistentVolumeClaims(spec.Namespace).Get(volume.PersistentVolumeClaim.ClaimName)
		if err != nil {
			return "", err
		}
		dir := r.claimDir(claim)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
		return dir, owner(dir)
	case volume.ConfigMap != nil:
		cm, err := r.client.CoreV1().ConfigMaps(spec.Namespace).Get(ctx, volume.ConfigMap.Name, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return dir, writeKeys(dir, configMapKeys(cm), volume.ConfigMap.Items)
	case volume.Secret != nil:
		secret, err := r.client.CoreV1().Secrets(spec.Namespace).Get(ctx, volume.Secret.SecretName, metav1.GetOptions{})
		if err != nil {
			return "", err
		}
		return dir, writeKeys(dir, secret.Data, volume.Secret.Items)
	case volume.Projected != nil:
		for _, source := range volume.Projected.Sources {
			switch {
			case source.ConfigMap != nil:
				cm, err := r.client.CoreV1().ConfigMaps(spec.Namespace).Get(ctx, source.ConfigMap.Name, metav1.GetOptions{})
				if err != nil {
					return "", err
				}
				if err := writeKeys(dir, configMapKeys(cm), source.ConfigMap.Items); err != nil {
					return "", err
				}
			case source.Secret != nil:
				secret, err := r.client.CoreV1().Secrets(spec.Namespace).Get(ctx, source.Secret.Name, metav1.GetOptions{})
				if err != nil {
					return "", err
				}
				if err := writeKeys(dir, secret.Data, source.Secret.Items); err != nil {
					return "", err
				}
			default:
				// Service-account tokens and the downward API: the agents use neither.
				log.Printf("%s: volume %s: a projected source other than ConfigMap or Secret is left out", p.key, volume.Name)
			}
		}
		return dir, os.MkdirAll(dir, 0o755)
	}
	return "", fmt.Errorf("a kind of volume this node does not provide")
}

func (r *runner) claimDir(claim *corev1.PersistentVolumeClaim) string {
	return filepath.Join(r.root, "claims", claim.Namespace, claim.Name+"-"+string(claim.UID))
}

func configMapKeys(cm *corev1.ConfigMap) map[string][]byte {
	keys := map[string][]byte{}
	for key, value := range cm.Data {
		keys[key] = []byte(value)
	}
	for key, value := range cm.BinaryData {
		keys[key] = value
	}
	return keys
}

// writeKeys: each key as a file (named by its item's path where items are given).
func writeKeys(dir string, keys map[string][]byte, items []corev1.KeyToPath) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	paths := map[string]string{}
	if len(items) == 0 {
		for key := range keys {
			paths[key] = key
		}
	}
	for _, item := range items {
		paths[item.Key] = item.Path
	}
	for key, path := range paths {
		value, ok := keys[key]
		if !ok {
			return fmt.Errorf("no key %s", key)
		}
		target := filepath.Join(dir, filepath.Clean("/"+path))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(target, value, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// environment: the container's env, with the values a kubelet fills in.
func (r *runner) environment(spec *corev1.Pod, c corev1.Container) ([]string, error) {
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"HOSTNAME=" + spec.Name,
	}
	for _, e := range c.Env {
		value := e.Value
		if from := e.ValueFrom; from != nil {
			if from.FieldRef == nil {
				return nil, fmt.Errorf("env %s: only values and field references are provided", e.Name)
			}
			switch from.FieldRef.FieldPath {
			case "metadata.name":
				value = spec.Name
			case "metadata.namespace":
				value = spec.Namespace
			case "metadata.uid":
				value = string(spec.UID)
			case "spec.nodeName":
				value = spec.Spec.NodeName
			case "status.podIP":
				value = spec.Status.PodIP
			default:
				return nil, fmt.Errorf("env %s: field %s is not provided", e.Name, from.FieldRef.FieldPath)
			}
		}
		env = append(env, e.Name+"="+value)
	}
	return env, nil
}

// lifecycle: init containers in turn, then the containers, restarted as they
// exit (or fail a startup or liveness probe), until the pod is stopped; then
// every process of it is ended and its namespace removed, and its key is
// looked at again. Each step is reported in the pod's status.
func (r *runner) lifecycle(p *pod, spec *corev1.Pod, containers []containerSpec) {
	inits := len(spec.Spec.InitContainers)
	specs := append(append([]corev1.Container{}, spec.Spec.InitContainers...), spec.Spec.Containers...)
	defer func() {
		r.cleanup(p)
		r.mu.Lock()
		delete(r.running, p.key)
		r.mu.Unlock()
		log.Printf("%s: stopped", p.key)
		r.queue.Add(p.key)
	}()
	for i, c := range containers[:inits] {
		for {
			started := time.Now()
			p.status.started(i, false)
			code, message := r.runContainer(p, c, nil, lastWords(specs[i]))
			p.status.exited(i, code, started, message)
			if code == 0 {
				break
			}
			p.status.restarting(i, 2*time.Second, true)
			if r.stopped(p, 2*time.Second) {
				return
			}
		}
	}
	var wg sync.WaitGroup
	for i := inits; i < len(containers); i++ {
		c, container := containers[i], specs[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			backoff := time.Second
			for {
				started := time.Now()
				p.status.started(i, container.ReadinessProbe != nil)
				restart := make(chan string, 1)
				done := make(chan struct{})
				go r.probe(probeRun{p: p, container: container, index: i, done: done, restart: func(why string) {
					select {
					case restart <- why:
					default:
					}
				}})
				code, message := r.runContainer(p, c, restart, lastWords(container))
				close(done)
				p.status.exited(i, code, started, message)
				if time.Since(started) > time.Minute {
					backoff = time.Second
				}
				p.status.restarting(i, backoff, code != 0)
				if r.stopped(p, backoff) {
					return
				}
				backoff = min(2*backoff, 30*time.Second)
			}
		}()
	}
	wg.Wait()
}

// lastWords: the container's termination message is the end of its log
// when it fails (it writes no termination message file here).
func lastWords(c corev1.Container) bool {
	return c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError
}

// stopped waits `wait`, or less if the pod is stopped meanwhile.
func (r *runner) stopped(p *pod, wait time.Duration) bool {
	select {
	case <-p.stop:
		return true
	case <-time.After(wait):
		return false
	}
}

// runContainer runs one container to its end (or the pod's, or until
// `restart` says why it must restart), returning its exit code (128+n for
// signal n, as a container runtime reports it).
//
// The second result is the end of what this run wrote (at most 80 lines and
// 2048 bytes, as a kubelet keeps) when it failed and `lastWords` asks for it:
// the container's termination message under FallbackToLogsOnError.
func (r *runner) runContainer(p *pod, c containerSpec, restart <-chan string, lastWords bool) (int, string) {
	code, from, logFile := r.runProcess(p, c, restart)
	if code == 0 || !lastWords || logFile == "" {
		return code, ""
	}
	return code, logTail(logFile, from)
}

// logTail: the end of file `path` from offset `from`: its last 80 lines, at
// most 2048 bytes of them.
func logTail(path string, from int64) string {
	file, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer file.Close()
	info, err := file.Stat()
	if err != nil {
		return ""
	}
	from = max(from, info.Size()-2048)
	tail := make([]byte, max(info.Size()-from, 0))
	if _, err := file.ReadAt(tail, from); err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(tail), "\n"), "\n")
	return strings.Join(lines[max(len(lines)-80, 0):], "\n")
}

// runProcess runs the container's process; it returns the exit code, where
// this run's output starts in its log, and the log's path ("" if none).
func (r *runner) runProcess(p *pod, c containerSpec, restart <-chan string) (int, int64, string) {
	self, err := os.Executable()
	if err != nil {
		log.Printf("%s: %v", p.key, err)
		return -1, 0, ""
	}
	specFile := filepath.Join(p.dir, "container-"+c.Name+".json")
	text, _ := json.Marshal(c)
	if err := os.WriteFile(specFile, text, 0o600); err != nil {
		log.Printf("%s: %v", p.key, err)
		return -1, 0, ""
	}
	logDir := filepath.Join(r.logs, p.namespace, p.name+"-"+string(p.uid)[:8])
	_ = os.MkdirAll(logDir, 0o755)
	out, err := os.OpenFile(filepath.Join(logDir, c.Name+".log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		log.Printf("%s: %v", p.key, err)
		return -1, 0, ""
	}
	defer out.Close()
	logFile := out.Name()
	from, _ := out.Seek(0, io.SeekEnd)
	command := exec.Command("ip", "netns", "exec", p.netns,
		"unshare", "--mount", "--propagation", "private", "--", self, "pod-init", specFile)
	command.Stdout, command.Stderr = out, out
	command.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := command.Start(); err != nil {
		log.Printf("%s: container %s: %v", p.key, c.Name, err)
		return -1, from, logFile
	}
	exited := make(chan int, 1)
	go func() {
		_ = command.Wait()
		code := command.ProcessState.ExitCode()
		if status, ok := command.ProcessState.Sys().(syscall.WaitStatus); ok && status.Signaled() {
			code = 128 + int(status.Signal())
		}
		exited <- code
	}()
	select {
	case code := <-exited:
		log.Printf("%s: container %s exited %d", p.key, c.Name, code)
		return code, from, logFile
	case why := <-restart:
		log.Printf("%s: container %s: %s; restarting it", p.key, c.Name, why)
	case <-p.stop:
	}
	// As a kubelet does: SIGTERM, then SIGKILL after the grace period.
	_ = syscall.Kill(-command.Process.Pid, syscall.SIGTERM)
	select {
	case code := <-exited:
		return code, from, logFile
	case <-time.After(p.grace):
		_ = syscall.Kill(-command.Process.Pid, syscall.SIGKILL)
		return <-exited, from, logFile
	}
}

// cleanup ends whatever still runs in the pod's network namespace (user code
// in process groups of its own), then removes the namespace and the pod's
// directory (claims live elsewhere and stay).
func (r *runner) cleanup(p *pod) {
	for attempt := 0; attempt < 50; attempt++ {
		out, err := exec.Command("ip", "netns", "pids", p.netns).Output()
		pids := strings.Fields(string(out))
		if err != nil || len(pids) == 0 {
			break
		}
		for _, field := range pids {
			if pid, err := strconv.Atoi(field); err == nil {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = exec.Command("ip", "netns", "del", p.netns).Run()
	_ = exec.Command("ip", "link", "del", p.veth).Run()
	_ = os.RemoveAll(p.dir)
}

// podInit runs inside the pod's network namespace and a fresh mount
// namespace: it binds the container's mounts into its root, enters it,
// takes the container's user and group, and becomes the container's command.
func podInit(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: koalja-cluster pod-init SPEC.json")
		return 64
	}
	text, err := os.ReadFile(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 64
	}
	var c containerSpec
	if err := json.Unmarshal(text, &c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 64
	}
	fail := func(format string, values ...any) int {
		fmt.Fprintf(os.Stderr, "pod-init %s: %s\n", c.Name, fmt.Sprintf(format, values...))
		return 64
	}
	for _, m := range c.Mounts {
		target := filepath.Join(c.Root, m.Target)
		if m.File {
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return fail("%v", err)
			}
			if f, err := os.OpenFile(target, os.O_CREATE, 0o755); err == nil {
				f.Close()
			}
		} else if err := os.MkdirAll(target, 0o755); err != nil {
			return fail("%v", err)
		}
		if err := syscall.Mount(m.Source, target, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fail("bind %s at %s: %v", m.Source, m.Target, err)
		}
	}
	// Read-only only once every bind is made: a mount point inside a
	// read-only mount (/etc/koalja in /etc) must be made first.
	for _, m := range c.Mounts {
		if m.ReadOnly {
			flags := uintptr(syscall.MS_BIND | syscall.MS_REMOUNT | syscall.MS_RDONLY | syscall.MS_REC)
			if err := syscall.Mount("", filepath.Join(c.Root, m.Target), "", flags, ""); err != nil {
				return fail("read-only %s: %v", m.Target, err)
			}
		}
	}
	if err := syscall.Chroot(c.Root); err != nil {
		return fail("chroot: %v", err)
	}
	dir := c.Dir
	if dir == "" {
		dir = "/"
	}
	if err := os.Chdir(dir); err != nil {
		return fail("working directory %s: %v", dir, err)
	}
	if err := syscall.Setgroups(c.Groups); err != nil {
		return fail("groups: %v", err)
	}
	if err := syscall.Setgid(c.GID); err != nil {
		return fail("group: %v", err)
	}
	if err := syscall.Setuid(c.UID); err != nil {
		return fail("user: %v", err)
	}
	program := c.Argv[0]
	if !strings.Contains(program, "/") {
		for _, e := range c.Env {
			if path, ok := strings.CutPrefix(e, "PATH="); ok {
				os.Setenv("PATH", path)
			}
		}
		if found, err := exec.LookPath(program); err == nil {
			program = found
		}
	}
	err = syscall.Exec(program, c.Argv, c.Env)
	return fail("exec %s: %v", c.Argv[0], err)
}
