-- The replica keeps its own chain database next to the sequencer's.
CREATE DATABASE parallax_replica OWNER parallax;
