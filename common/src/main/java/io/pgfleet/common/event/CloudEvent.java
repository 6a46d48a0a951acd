package io.pgfleet.common.event;

import com.fasterxml.jackson.databind.JsonNode;
import io.pgfleet.common.json.Json;
import java.time.Instant;
import java.util.UUID;

/**
 * A CloudEvents 1.0 event in structured JSON mode. Extension attributes {@code runid}, {@code taskid} and
 * {@code backupid} let consumers correlate without parsing {@code data}. Subject is {@code cluster/database}.
 */
public record CloudEvent(String specversion, String id, String source, String type, String subject, Instant time,
    String datacontenttype, String runid, String backupid, String taskid, JsonNode data) {

  public static CloudEvent of(String source, String type, String cluster, String database, String runId,
      String backupId, String taskId, Object data) {
    return new CloudEvent("1.0", UUID.randomUUID().toString(), source, type, cluster + "/" + database,
        Instant.now(), "application/json", runId, backupId, taskId, Json.tree(data));
  }

  public <T> T dataAs(Class<T> type) {
    return Json.convert(data, type);
  }
}
