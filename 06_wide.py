"""Hidden layers of 512 and 256 instead of 128 and 64; the report finds a marginal gain in accuracy and a
loss similar to the base (Fig. 6)."""
import common

if __name__ == "__main__":
    common.main(__file__, hidden=(512, 256))
