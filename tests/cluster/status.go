// status.go: the status a kubelet reports for a pod this program runs, from
// its processes: each container's state (waiting, running or terminated),
// its restarts and last termination (exit code, signals as 128+n), whether
// it is ready (its readiness probe, probes.go), and the pod's phase and
// conditions Initialized, ContainersReady and Ready.
//
// kwok would report these pods Running and Ready after a few seconds
// whatever runs; scripts/cluster.sh keeps its pod stages off any pod with
// the condition `koalja.dev/Run`, which this program sets first. A stage
// kwok had already queued for the pod may still write once (kwok does not
// cancel a delayed stage when the pod stops matching), so every update of
// the pod that disagrees with what is reported here is answered by
// reporting again (reconcile calls poke).
package main

import (
	"context"
	"encoding/json"
	"log"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// The pod condition that keeps kwok's pod stages away (scripts/cluster.sh).
const runCondition corev1.PodConditionType = "koalja.dev/Run"

// One container as reported.
type containerState struct {
	name, image string
	// Waiting (its reason, e.g. PodInitializing, CrashLoopBackOff), running
	// (since startedAt) or, for a completed init container, terminated.
	waiting, waitingMessage string
	running                 bool
	startedAt               time.Time
	terminated              *corev1.ContainerStateTerminated
	// Its readiness probe's verdict while it runs.
	ready    bool
	restarts int32
	last     *corev1.ContainerStateTerminated
}

// podStatus: what is reported for one pod; its methods are safe to call
// from the pod's container goroutines.
type podStatus struct {
	mu         sync.Mutex
	containers []*containerState // init containers first
	inits      int
	// When each condition last changed, by type, and its status then.
	transitions map[corev1.PodConditionType]conditionAt
	// Signalled (without blocking) when something changed.
	changed chan struct{}
}

type conditionAt struct {
	status corev1.ConditionStatus
	at     time.Time
}

func newPodStatus(spec *corev1.Pod) *podStatus {
	s := &podStatus{
		inits:       len(spec.Spec.InitContainers),
		transitions: map[corev1.PodConditionType]conditionAt{},
		changed:     make(chan struct{}, 1),
	}
	waiting := "PodInitializing"
	if s.inits == 0 {
		waiting = "ContainerCreating"
	}
	for _, c := range append(append([]corev1.Container{}, spec.Spec.InitContainers...), spec.Spec.Containers...) {
		s.containers = append(s.containers, &containerState{name: c.Name, image: c.Image, waiting: waiting})
	}
	s.poke()
	return s
}

// update changes container i's state and has it reported.
func (s *podStatus) update(i int, change func(c *containerState)) {
	s.mu.Lock()
	change(s.containers[i])
	s.mu.Unlock()
	s.poke()
}

func (s *podStatus) poke() {
	select {
	case s.changed <- struct{}{}:
	default:
	}
}

// started: container i runs from now; ready at once unless it has a
// readiness probe.
func (s *podStatus) started(i int, probed bool) {
	s.update(i, func(c *containerState) {
		c.waiting, c.waitingMessage, c.terminated = "", "", nil
		c.running, c.startedAt, c.ready = true, time.Now(), !probed
	})
}

// exited: container i ended with `code`, its termination message
// `message`. An init container that succeeded is terminated Completed; any
// other is restarted (restarting says when).
func (s *podStatus) exited(i int, code int, started time.Time, message string) {
	s.update(i, func(c *containerState) {
		reason := "Error"
		if code == 0 {
			reason = "Completed"
		}
		end := &corev1.ContainerStateTerminated{
			ExitCode:   int32(code),
			Reason:     reason,
			Message:    message,
			StartedAt:  metav1.NewTime(started),
			FinishedAt: metav1.Now(),
		}
		c.running, c.ready = false, false
		if i < s.inits && code == 0 {
			c.terminated = end
			return
		}
		c.last = end
	})
}

// restarting: container i starts again after `backoff` (a kubelet's
// CrashLoopBackOff when it failed).
func (s *podStatus) restarting(i int, backoff time.Duration, failed bool) {
	s.update(i, func(c *containerState) {
		c.restarts++
		if failed {
			c.waiting = "CrashLoopBackOff"
			c.waitingMessage = "back-off " + backoff.String() + " restarting failed container " + c.name
		} else {
			c.waiting, c.waitingMessage = "ContainerCreating", ""
		}
	})
}

// setReady records container i's readiness probe verdict.
func (s *podStatus) setReady(i int, ready bool) {
	s.mu.Lock()
	changed := s.containers[i].running && s.containers[i].ready != ready
	if changed {
		s.containers[i].ready = ready
	}
	s.mu.Unlock()
	if changed {
		s.poke()
	}
}

// status: the pod status to report now.
func (s *podStatus) status() corev1.PodStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	var incomplete, unready []string // as a kubelet names them in its conditions' messages
	var status corev1.PodStatus
	for i, c := range s.containers {
		report := corev1.ContainerStatus{Name: c.name, Image: c.image, Ready: c.ready, RestartCount: c.restarts}
		switch {
		case c.running:
			report.State.Running = &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(c.startedAt)}
		case c.terminated != nil:
			report.State.Terminated = c.terminated
			report.Ready = true // a completed init container counts as ready, as a kubelet reports it
		default:
			report.State.Waiting = &corev1.ContainerStateWaiting{Reason: c.waiting, Message: c.waitingMessage}
		}
		started := c.running
		report.Started = &started
		if c.last != nil {
			report.LastTerminationState.Terminated = c.last
		}
		if i < s.inits {
			if c.terminated == nil {
				incomplete = append(incomplete, c.name)
			}
			status.InitContainerStatuses = append(status.InitContainerStatuses, report)
		} else {
			if !c.running || !c.ready {
				unready = append(unready, c.name)
			}
			status.ContainerStatuses = append(status.ContainerStatuses, report)
		}
	}
	initialized := len(incomplete) == 0
	ready := initialized && len(unready) == 0
	status.Phase = corev1.PodPending
	if initialized {
		status.Phase = corev1.PodRunning
	}
	condition := func(kind corev1.PodConditionType, holds bool, reason, message string) corev1.PodCondition {
		value := corev1.ConditionFalse
		if holds {
			value, reason = corev1.ConditionTrue, ""
		}
		last, seen := s.transitions[kind]
		if !seen || last.status != value {
			last = conditionAt{status: value, at: time.Now()}
			s.transitions[kind] = last
		}
		if holds {
			message = ""
		}
		return corev1.PodCondition{Type: kind, Status: value, Reason: reason, Message: message,
			LastTransitionTime: metav1.NewTime(last.at)}
	}
	status.Conditions = []corev1.PodCondition{
		condition(runCondition, true, "", ""),
		condition(corev1.PodInitialized, initialized, "ContainersNotInitialized",
			"containers with incomplete status: ["+strings.Join(incomplete, " ")+"]"),
		condition(corev1.ContainersReady, ready, "ContainersNotReady",
			"containers with unready status: ["+strings.Join(unready, " ")+"]"),
		condition(corev1.PodReady, ready, "ContainersNotReady",
			"containers with unready status: ["+strings.Join(unready, " ")+"]"),
	}
	return status
}

// agrees: the live pod shows what would be reported (phase, readiness,
// and each container's readiness, restarts and state).
func (s *podStatus) agrees(live *corev1.Pod) bool {
	want := s.status()
	if live.Status.Phase != want.Phase {
		return false
	}
	for _, c := range want.Conditions {
		found := false
		for _, l := range live.Status.Conditions {
			found = found || (l.Type == c.Type && l.Status == c.Status)
		}
		if !found {
			return false
		}
	}
	same := func(a, b []corev1.ContainerStatus) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i].Name != b[i].Name || a[i].Ready != b[i].Ready || a[i].RestartCount != b[i].RestartCount ||
				(a[i].State.Running == nil) != (b[i].State.Running == nil) ||
				(a[i].State.Waiting == nil) != (b[i].State.Waiting == nil) {
				return false
			}
		}
		return true
	}
	return same(want.ContainerStatuses, live.Status.ContainerStatuses) &&
		same(want.InitContainerStatuses, live.Status.InitContainerStatuses)
}

// report writes the pod's status whenever it changes, until the pod
// stops. A failed write is tried again a second later.
func (r *runner) report(p *pod) {
	for {
		select {
		case <-p.stop:
			return
		case <-p.status.changed:
		}
		status := p.status.status()
		// The uid makes the write fail on a successor of the same name
		// (a StatefulSet's) rather than land there.
		// A condition's reason and message are cleared (null) when it
		// holds: a merge would otherwise keep an earlier writer's.
		var conditions []map[string]any
		for _, c := range status.Conditions {
			condition := map[string]any{"type": c.Type, "status": c.Status, "lastTransitionTime": c.LastTransitionTime,
				"reason": nil, "message": nil}
			if c.Reason != "" {
				condition["reason"] = c.Reason
				condition["message"] = c.Message
			}
			conditions = append(conditions, condition)
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"uid": p.uid}, "status": map[string]any{
			"phase":                 status.Phase,
			"conditions":            conditions,
			"containerStatuses":     status.ContainerStatuses,
			"initContainerStatuses": status.InitContainerStatuses,
		}})
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := r.client.CoreV1().Pods(p.namespace).Patch(ctx, p.name, types.StrategicMergePatchType, patch,
			metav1.PatchOptions{FieldManager: "koalja-pods"}, "status")
		cancel()
		if err != nil {
			log.Printf("%s: reporting its status: %v", p.key, err)
			select {
			case <-p.stop:
				return
			case <-time.After(time.Second):
				p.status.poke()
			}
		}
	}
}
