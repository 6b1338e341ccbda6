// The event bus at a glance (read-only): how many events each consumer group has yet to
// handle per topic, and the dead letters of every topic — what `mart events lag` and
// `mart dlq list` print, from NotificationService.GetEventsStatus.
import { Code } from "@connectrpc/connect";
import { Empty, FormError, Loading, useLoad } from "../../ui/ui.js";
import { api } from "../api.js";

export function EventsPage() {
  const [loaded, , reload] = useLoad(() => api.notifications.getEventsStatus({ deadLetterLimit: 50 }), []);
  return (
    <main class="page">
      <div class="title-row">
        <h1>Events</h1>
        <button type="button" onClick={reload}>
          Refresh
        </button>
      </div>
      {loaded.state === "loading" && <Loading what="the bus status" />}
      {loaded.state === "failed" && (
        <>
          <FormError problem={loaded.problem} />
          {loaded.problem.code === Code.Unimplemented && <p class="hint">This server does not offer the events status yet.</p>}
        </>
      )}
      {loaded.state === "ok" && (
        <>
          <section aria-labelledby="lag-h">
            <h2 id="lag-h">Consumer lag</h2>
            {loaded.value.lag.length === 0 ? (
              <Empty>No consumer groups yet.</Empty>
            ) : (
              <div class="table-wrap">
                <table class="stack" aria-label="Consumer lag">
                  <thead>
                    <tr>
                      <th scope="col">Group</th>
                      <th scope="col">Topic</th>
                      <th scope="col">Waiting</th>
                    </tr>
                  </thead>
                  <tbody>
                    {loaded.value.lag.map((l) => (
                      <tr key={`${l.group} ${l.topic}`} class={l.waiting > 0n ? "behind" : undefined}>
                        <td data-label="Group">{l.group}</td>
                        <td data-label="Topic">{l.topic}</td>
                        <td data-label="Waiting">{String(l.waiting)}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
          <section aria-labelledby="dlq-h">
            <h2 id="dlq-h">Dead letters</h2>
            {Object.keys(loaded.value.deadLetterCounts).length > 0 && (
              <ul class="plain counts" aria-label="Dead letters per topic">
                {Object.entries(loaded.value.deadLetterCounts).map(([topic, n]) => (
                  <li key={topic}>
                    {topic}: <strong>{String(n)}</strong>
                  </li>
                ))}
              </ul>
            )}
            {loaded.value.deadLetters.length === 0 ? (
              <Empty>No dead letters: every event was handled.</Empty>
            ) : (
              <div class="table-wrap">
                <table class="stack" aria-label="Dead letters">
                  <thead>
                    <tr>
                      <th scope="col">Topic</th>
                      <th scope="col">Where</th>
                      <th scope="col">Event</th>
                      <th scope="col">Group</th>
                      <th scope="col">Attempts</th>
                      <th scope="col">Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {loaded.value.deadLetters.map((d) => (
                      <tr key={`${d.topic}/${d.partition}/${d.offset}`}>
                        <td data-label="Topic">{d.topic}</td>
                        <td data-label="Where">
                          {d.partition}:{String(d.offset)}
                        </td>
                        <td data-label="Event">
                          <span>
                            {d.eventType} <span class="hint">{d.eventId}</span>
                          </span>
                        </td>
                        <td data-label="Group">{d.group}</td>
                        <td data-label="Attempts">{d.attempts}</td>
                        <td class="wrap" data-label="Error">{d.error}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </section>
        </>
      )}
    </main>
  );
}
