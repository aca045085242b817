"""Learning rate 0.1 instead of 1e-3; the report finds lower loss and higher accuracy in fewer epochs,
with considerable oscillation (Fig. 5)."""
import common

if __name__ == "__main__":
    common.main(__file__, lr=0.1)
