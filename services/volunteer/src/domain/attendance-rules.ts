/** Great-circle distance between two points in meters (haversine, mean Earth radius). */
export function distanceMeters(from: { lat: number; lng: number }, to: { lat: number; lng: number }): number {
  const earthRadiusMeters = 6_371_008.8;
  const radians = (degrees: number) => (degrees * Math.PI) / 180;
  const deltaLat = radians(to.lat - from.lat);
  const deltaLng = radians(to.lng - from.lng);
  const a = Math.sin(deltaLat / 2) ** 2 + Math.cos(radians(from.lat)) * Math.cos(radians(to.lat)) * Math.sin(deltaLng / 2) ** 2;
  return 2 * earthRadiusMeters * Math.asin(Math.min(1, Math.sqrt(a)));
}

/**
 * Minutes of service: the overlap of the stay [checkedInAt, checkedOutAt] with the activity's
 * window, rounded down to whole steps (arriving early or staying late earns nothing extra).
 */
export function attendedMinutes(stay: { checkedInAt: Date; checkedOutAt: Date }, window: { startAt: Date; endAt: Date }, stepMinutes: number): number {
  const startMs = Math.max(stay.checkedInAt.getTime(), window.startAt.getTime());
  const endMs = Math.min(stay.checkedOutAt.getTime(), window.endAt.getTime());
  if (endMs <= startMs) return 0;
  const minutes = Math.floor((endMs - startMs) / 60_000);
  return minutes - (minutes % stepMinutes);
}

/** Whether a check-in at `now` falls inside the window, opened `graceMinutes` early. */
export function withinCheckinWindow(now: Date, window: { startAt: Date; endAt: Date }, graceMinutes: number): boolean {
  return now.getTime() >= window.startAt.getTime() - graceMinutes * 60_000 && now.getTime() <= window.endAt.getTime();
}
