"""The combination of the best changes, Adam at lr 0.1 with hidden layers of 512 and 256 and dropout 0.2;
the report finds it fails, since Adam takes excessive steps at so high a rate (Fig. 7)."""
import common

if __name__ == "__main__":
    common.main(__file__, optimizer="adam", lr=0.1, hidden=(512, 256))
