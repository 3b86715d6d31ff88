package lb

import (
	"maps"
	"slices"
)

// ApplySource makes the plane serve cfg as source's part of its
// configuration, beside the parts other sources gave: ELBv2's controller
// and the Classic API's each hand their whole part, and neither removes
// the other's listeners or groups. Listener and group ARNs must be
// unique across sources. The error is Apply's, over every part.
func (p *Plane) ApplySource(source string, cfg Config) error {
	p.srcMu.Lock()
	defer p.srcMu.Unlock()
	if p.sources == nil {
		p.sources = map[string]Config{}
	}
	p.sources[source] = cfg
	var all Config
	for _, name := range slices.Sorted(maps.Keys(p.sources)) {
		all.Listeners = append(all.Listeners, p.sources[name].Listeners...)
		all.Groups = append(all.Groups, p.sources[name].Groups...)
	}
	return p.Apply(all)
}
