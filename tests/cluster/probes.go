// probes.go: a container's startup, readiness and liveness probes, run as
// a kubelet runs them: from the node, at the pod's address, every
// periodSeconds, a verdict changing after successThreshold passes or
// failureThreshold failures in a row. Readiness and liveness start once
// the startup probe has passed. A failed startup or liveness probe
// restarts the container. httpGet and tcpSocket probes are run; an exec
// or grpc probe is logged once and counted as passing (none of the
// project's manifests has one).
package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"net/http"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// probeRun: the probes of one run of one container; done is closed when
// the run ends, restart asks the run to end (a failed liveness probe).
type probeRun struct {
	p         *pod
	container corev1.Container
	index     int
	done      <-chan struct{}
	restart   func(why string)
}

// probe runs the container's probes until its run ends.
func (r *runner) probe(run probeRun) {
	c := run.container
	if c.StartupProbe != nil && !run.until(c.StartupProbe, "startup", func(ok bool) bool { return ok }) {
		return
	}
	if c.ReadinessProbe != nil {
		go run.until(c.ReadinessProbe, "readiness", func(ok bool) bool {
			run.p.status.setReady(run.index, ok)
			return false
		})
	}
	if c.LivenessProbe != nil {
		go run.until(c.LivenessProbe, "liveness", func(ok bool) bool { return false })
	}
}

// until probes every period and hands each verdict (after the thresholds)
// to `verdict`, until it returns true or the run ends. A startup or
// liveness probe's failing verdict restarts the container. Returns whether
// `verdict` ended it.
func (run probeRun) until(spec *corev1.Probe, kind string, verdict func(ok bool) bool) bool {
	period := seconds(spec.PeriodSeconds, 10)
	timeout := seconds(spec.TimeoutSeconds, 1)
	successes, failures := threshold(spec.SuccessThreshold, 1), threshold(spec.FailureThreshold, 3)
	if kind != "readiness" {
		successes = 1 // as the API server requires for these
	}
	if spec.HTTPGet == nil && spec.TCPSocket == nil {
		log.Printf("%s: container %s: only httpGet and tcpSocket probes are run here; its %s probe counts as passing",
			run.p.key, run.container.Name, kind)
	}
	select {
	case <-run.done:
		return false
	case <-time.After(seconds(spec.InitialDelaySeconds, 0)):
	}
	passed, failed := 0, 0
	for {
		err := run.once(spec, timeout)
		if err == nil {
			passed, failed = passed+1, 0
		} else {
			passed, failed = 0, failed+1
		}
		switch {
		case passed >= successes:
			if verdict(true) {
				return true
			}
		case failed >= failures:
			if kind != "readiness" {
				run.restart(fmt.Sprintf("%s probe failed %d times: %v", kind, failed, err))
				return false
			}
			verdict(false)
		}
		select {
		case <-run.done:
			return false
		case <-time.After(period):
		}
	}
}

// once: one probe, nil if it passed.
func (run probeRun) once(spec *corev1.Probe, timeout time.Duration) error {
	host := run.p.ip
	switch {
	case spec.HTTPGet != nil:
		get := spec.HTTPGet
		if get.Host != "" {
			host = get.Host
		}
		port, err := run.port(get.Port)
		if err != nil {
			return err
		}
		scheme := "http"
		if get.Scheme == corev1.URISchemeHTTPS {
			scheme = "https"
		}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		url := scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port)) + get.Path
		request, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return err
		}
		for _, header := range get.HTTPHeaders {
			request.Header.Add(header.Name, header.Value)
		}
		answer, err := http.DefaultClient.Do(request)
		if err != nil {
			return err
		}
		answer.Body.Close()
		if answer.StatusCode < 200 || answer.StatusCode >= 400 {
			return fmt.Errorf("%s answered %s", url, answer.Status)
		}
		return nil
	case spec.TCPSocket != nil:
		port, err := run.port(spec.TCPSocket.Port)
		if err != nil {
			return err
		}
		connection, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), timeout)
		if err != nil {
			return err
		}
		return connection.Close()
	default:
		return nil // said once, in until
	}
}

// port: a probe's port, by number or by the name of a container port.
func (run probeRun) port(port intstr.IntOrString) (int, error) {
	if port.Type == intstr.Int {
		return port.IntValue(), nil
	}
	for _, p := range run.container.Ports {
		if p.Name == port.StrVal {
			return int(p.ContainerPort), nil
		}
	}
	return 0, fmt.Errorf("container %s has no port named %s", run.container.Name, port.StrVal)
}

func seconds(value int32, otherwise int32) time.Duration {
	if value <= 0 {
		value = otherwise
	}
	return time.Duration(value) * time.Second
}

func threshold(value int32, otherwise int) int {
	if value <= 0 {
		return otherwise
	}
	return int(value)
}
