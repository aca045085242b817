"""No dropout; the report finds slightly higher accuracy than the base and about the same loss (Fig. 3)."""
import common

if __name__ == "__main__":
    common.main(__file__, dropout=0.0)
