"""Adam instead of SGD, at the same lr 1e-3; the report finds it converges faster, with accuracy between
0.85 and 0.95 from epoch 5 on and training loss below 0.2 (Fig. 2)."""
import common

if __name__ == "__main__":
    common.main(__file__, optimizer="adam")
