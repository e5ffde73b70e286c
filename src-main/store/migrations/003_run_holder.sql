-- Who holds a run while it trains or waits its turn: the host (machine and pid namespace) of the
-- process in `pid`, and when that process last said it was alive (ms since 1970), so a process
-- that cannot be asked (another machine's) is judged by its heartbeat.
ALTER TABLE runs ADD COLUMN host TEXT;
ALTER TABLE runs ADD COLUMN heartbeat INTEGER;
