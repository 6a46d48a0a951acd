package io.pgfleet.coordinator.api;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonMappingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.pgfleet.common.json.Json;
import io.pgfleet.coordinator.api.FleetApi.Rejected;
import io.pgfleet.coordinator.api.FleetApi.RestoreRequest;
import java.io.IOException;
import java.lang.reflect.RecordComponent;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Reads the body of a restore request strictly. The shared mapper accepts unknown fields (readers must tolerate newer
 * writers), but a person typing {@code "schema"} for {@code "schemas"} would otherwise restore everything, so here an
 * unknown field is a 400 naming it. Every failure is a {@link Rejected#badRequest() bad request}.
 */
final class RestoreRequestParser {
  static final int DEFAULT_JOBS = 2;
  static final int MAX_JOBS = 64;
  private static final List<String> LIST_FIELDS = List.of("schemas", "tables", "excludeTables");
  /** Derived from the record, so a field added to {@link RestoreRequest} is accepted without touching this class. */
  static final Set<String> FIELDS = Arrays.stream(RestoreRequest.class.getRecordComponents())
      .map(RecordComponent::getName)
      .collect(Collectors.toCollection(LinkedHashSet::new));

  private RestoreRequestParser() {}

  static RestoreRequest parse(byte[] body) {
    JsonNode node;
    try {
      node = Json.MAPPER.readTree(body);
    } catch (JsonProcessingException e) {
      throw bad("invalid JSON in restore request: " + e.getOriginalMessage());
    } catch (IOException e) {
      throw bad("unreadable restore request body: " + e.getMessage());
    }
    if (node == null || node.isMissingNode()) {
      throw bad("the restore request body is empty: send a JSON object with at least targetCluster and targetDatabase");
    }
    if (!node.isObject()) {
      throw bad("the restore request body must be a JSON object with at least targetCluster and targetDatabase");
    }
    ObjectNode fields = (ObjectNode) node;
    for (String name : (Iterable<String>) fields::fieldNames) {
      if (!FIELDS.contains(name)) {
        throw bad("unknown field \"" + name + "\" in restore request; known fields: " + String.join(", ", FIELDS));
      }
    }
    // Absent (or null) means the default: the shared mapper fails on a missing primitive rather than invent one.
    for (RecordComponent c : RestoreRequest.class.getRecordComponents()) {
      JsonNode v = fields.get(c.getName());
      if (v != null && !v.isNull()) {
        continue;
      }
      if (c.getType() == List.class) {
        fields.putArray(c.getName());
      } else if (c.getType() == boolean.class) {
        fields.put(c.getName(), false);
      } else if (c.getName().equals("jobs")) {
        fields.put("jobs", DEFAULT_JOBS);
      }
    }
    RestoreRequest r;
    try {
      r = Json.MAPPER.treeToValue(fields, RestoreRequest.class);
    } catch (JsonMappingException e) {
      String field = e.getPath().stream()
          .map(ref -> ref.getFieldName() != null ? ref.getFieldName() : "[" + ref.getIndex() + "]")
          .collect(Collectors.joining("."));
      throw bad("invalid value for \"" + field + "\" in restore request: " + e.getOriginalMessage());
    } catch (JsonProcessingException e) {
      throw bad("invalid restore request: " + e.getOriginalMessage());
    }
    String targetCluster = ApiServer.name("targetCluster", r.targetCluster());
    String targetDatabase = ApiServer.name("targetDatabase", r.targetDatabase());
    if (r.jobs() < 1 || r.jobs() > MAX_JOBS) {
      throw bad("jobs must be between 1 and " + MAX_JOBS + ", got " + r.jobs());
    }
    if (r.dataOnly() && r.schemaOnly()) {
      throw bad("dataOnly and schemaOnly exclude each other: set at most one");
    }
    for (String list : LIST_FIELDS) {
      List<String> values = switch (list) {
        case "schemas" -> r.schemas();
        case "tables" -> r.tables();
        default -> r.excludeTables();
      };
      for (String v : values) {
        if (v == null || v.isBlank() || v.chars().anyMatch(Character::isISOControl) || v.length() > 2 * ApiServer.MAX_NAME) {
          throw bad(list + " entries must be non-empty names without control characters");
        }
      }
    }
    return new RestoreRequest(targetCluster, targetDatabase, List.copyOf(r.schemas()), List.copyOf(r.tables()),
        List.copyOf(r.excludeTables()), r.dataOnly(), r.schemaOnly(), r.clean(), r.jobs(), r.noOwner());
  }

  private static Rejected bad(String message) {
    return new Rejected(message, true);
  }
}
