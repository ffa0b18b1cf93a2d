// Command koalja-cluster is a real Kubernetes control plane in one binary, for the
// project's tests only. It runs the upstream programs unchanged, chosen by the name it
// is called by (scripts/cluster.sh links each name to it), as hyperkube once did:
// linking one 200 MB binary instead of six is what keeps a cold build within minutes
// on a 2-core machine, and the Go build cache makes every later build a no-op.
//
// Beside them, koalja-pods (pods.go, dns.go) runs what the pods of opted-in
// namespaces say, as a kubelet would, with pod-init as its helper inside a pod.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	_ "time/tzdata"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"go.etcd.io/etcd/server/v3/etcdmain"
	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register"
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	kubectl "k8s.io/kubectl/pkg/cmd"
	kubectlutil "k8s.io/kubectl/pkg/cmd/util"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"
	kwokconfig "sigs.k8s.io/kwok/pkg/config"
	kwok "sigs.k8s.io/kwok/pkg/kwok/cmd"
	kwoklog "sigs.k8s.io/kwok/pkg/log"
	"sigs.k8s.io/kwok/pkg/utils/signals"
)

func main() {
	name := filepath.Base(os.Args[0])
	args := os.Args
	// `koalja-cluster NAME ARGS...` works as well as a link called NAME.
	if name == "koalja-cluster" && len(args) > 1 {
		name, args = args[1], args[1:]
	}
	switch name {
	case "etcd":
		etcdmain.Main(args)
	case "kube-apiserver":
		os.Exit(runCobra(apiserver.NewAPIServerCommand(), args))
	case "kube-controller-manager":
		os.Exit(runCobra(controllermanager.NewControllerManagerCommand(), args))
	case "kube-scheduler":
		os.Exit(runCobra(scheduler.NewSchedulerCommand(), args))
	case "kubectl":
		command := kubectl.NewDefaultKubectlCommand()
		command.SetArgs(args[1:])
		if err := cli.RunNoErrOutput(command); err != nil {
			kubectlutil.CheckErr(err)
		}
	case "kwok":
		os.Exit(runKwok(args))
	case "koalja-pods":
		os.Exit(runPods(args))
	case "pod-init":
		os.Exit(podInit(args))
	default:
		fmt.Fprintf(os.Stderr, "koalja-cluster: unknown program %q (one of etcd, kube-apiserver, "+
			"kube-controller-manager, kube-scheduler, kubectl, kwok, koalja-pods, pod-init)\n", name)
		os.Exit(64)
	}
}

func runCobra(command *cobra.Command, args []string) int {
	command.SetArgs(args[1:])
	return cli.Run(command)
}

// runKwok is kwok's own main: its global flags (logging, --config) are parsed before
// the command's.
func runKwok(args []string) int {
	flagset := pflag.NewFlagSet("global", pflag.ContinueOnError)
	flagset.ParseErrorsAllowlist.UnknownFlags = true
	flagset.Usage = func() {}
	os.Args = args
	ctx := signals.SetupSignalContext()
	ctx, logger := kwoklog.InitFlags(ctx, flagset)
	ctx, err := kwokconfig.InitFlags(ctx, flagset)
	if err != nil {
		logger.Error("Init config flags", "err", err)
		return 1
	}
	command := kwok.NewCommand(ctx)
	// component-base (linked for the control plane) registers a global
	// non-boolean --version, which cobra's own --version of kwok trips on.
	command.Version = ""
	command.PersistentFlags().AddFlagSet(flagset)
	command.SetArgs(args[1:])
	if err := command.ExecuteContext(context.WithoutCancel(ctx)); err != nil && !strings.Contains(err.Error(), "context canceled") {
		logger.Error("Execute exit", "err", err)
		return 1
	}
	return 0
}
