"""BuildKit LLB: immutable states, marshalled once at the edge into pb.Definition bytes."""
