"""`python -m stancemap`: the same command as the `stancemap` console script."""

from stancemap.cli import main

if __name__ == "__main__":
    main()
