"""asva.training: training runs — `avsyncd` (`asva train`), `sync` (`asva train-sync`), the run folder
and checkpoints they share (`checkpoint`) and the one KEY=VALUE override parser (`overrides`)."""
