-- The replica and the challenger keep their own chain databases next to the sequencer's.
CREATE DATABASE parallax_replica OWNER parallax;
CREATE DATABASE parallax_challenger OWNER parallax;
