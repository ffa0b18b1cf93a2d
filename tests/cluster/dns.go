// The local cluster's DNS, for the pods koalja-pods runs: as CoreDNS would answer
// them, but only for what the agents ask. `NAME.NAMESPACE.svc.cluster.local` is a
// Service: its answer is the address of every pod behind it that this node runs
// (there is no kube-proxy, so a Service's cluster IP would lead nowhere);
// `POD.NAME.NAMESPACE.svc.cluster.local` is one such pod. Anything else is
// NXDOMAIN at once, so a resolver's search list costs nothing. Short TTLs: a
// StatefulSet's pod comes back with another address.
package main

import (
	"log"
	"net"
	"sort"
	"strings"

	"golang.org/x/net/dns/dnsmessage"
	"k8s.io/apimachinery/pkg/labels"
)

const dnsTTL = 2

func serveDNS(address string, r *runner) error {
	conn, err := net.ListenPacket("udp", address)
	if err != nil {
		return err
	}
	buffer := make([]byte, 1500)
	for {
		n, from, err := conn.ReadFrom(buffer)
		if err != nil {
			return err
		}
		answer, err := r.answer(buffer[:n])
		if err != nil {
			log.Printf("dns: a query from %s: %v", from, err)
			continue
		}
		_, _ = conn.WriteTo(answer, from)
	}
}

func (r *runner) answer(query []byte) ([]byte, error) {
	var parser dnsmessage.Parser
	header, err := parser.Start(query)
	if err != nil {
		return nil, err
	}
	question, err := parser.Question()
	if err != nil {
		return nil, err
	}
	reply := dnsmessage.Header{ID: header.ID, Response: true, Authoritative: true, RecursionDesired: header.RecursionDesired}
	addresses, known := r.lookup(strings.TrimSuffix(strings.ToLower(question.Name.String()), "."))
	if !known {
		reply.RCode = dnsmessage.RCodeNameError
	}
	builder := dnsmessage.NewBuilder(nil, reply)
	builder.EnableCompression()
	if err := builder.StartQuestions(); err != nil {
		return nil, err
	}
	if err := builder.Question(question); err != nil {
		return nil, err
	}
	if err := builder.StartAnswers(); err != nil {
		return nil, err
	}
	if question.Type == dnsmessage.TypeA {
		for _, address := range addresses {
			ip := net.ParseIP(address).To4()
			if ip == nil {
				continue
			}
			resource := dnsmessage.AResource{A: [4]byte{ip[0], ip[1], ip[2], ip[3]}}
			head := dnsmessage.ResourceHeader{Name: question.Name, Class: dnsmessage.ClassINET, TTL: dnsTTL}
			if err := builder.AResource(head, resource); err != nil {
				return nil, err
			}
		}
	}
	return builder.Finish()
}

// lookup: the addresses a name stands for, and whether it names anything.
func (r *runner) lookup(name string) ([]string, bool) {
	rest, ok := strings.CutSuffix(name, ".svc.cluster.local")
	if !ok {
		return nil, false
	}
	parts := strings.Split(rest, ".")
	var podName string
	switch len(parts) {
	case 2:
	case 3:
		podName, parts = parts[0], parts[1:]
	default:
		return nil, false
	}
	service, err := r.services.Services(parts[1]).Get(parts[0])
	if err != nil || len(service.Spec.Selector) == 0 {
		return nil, false
	}
	pods, _ := r.pods.Pods(parts[1]).List(labels.SelectorFromSet(service.Spec.Selector))
	var addresses []string
	r.mu.Lock()
	for _, p := range pods {
		running := r.running[p.Namespace+"/"+p.Name]
		if running == nil || running.uid != p.UID || (podName != "" && p.Name != podName) {
			continue
		}
		addresses = append(addresses, running.ip)
	}
	r.mu.Unlock()
	sort.Strings(addresses)
	return addresses, podName == "" || len(addresses) > 0
}
