"""The network lab: drones on separate (namespaced) hosts over bandwidth-capped links."""
