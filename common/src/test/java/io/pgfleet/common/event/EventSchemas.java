package io.pgfleet.common.event;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaLocation;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SchemaRegistryConfig;
import com.networknt.schema.SpecificationVersion;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The event contract of {@code docs/events}: one JSON Schema per type, copied onto the test classpath by the build
 * (common's pom), and validation of an event, as a consumer sees it on the wire, against the schema of its type.
 * Shared with the ITs through common's test-jar.
 */
public final class EventSchemas {
  /** Where the build puts the copy of {@code docs/events} on the test classpath. */
  public static final String RESOURCES = "io/pgfleet/events/";
  /** The prefix of every schema's {@code $id}; mapped to {@link #RESOURCES}, never fetched. */
  public static final String ID_BASE = "https://pgfleet.io/schemas/events/";
  private static final String TYPE_PREFIX = "io.pgfleet.";
  private static final ObjectMapper PLAIN = new ObjectMapper();
  // Format assertions on: a draft 2020-12 validator only annotates "format" by default, and "time" must be a
  // date-time and "id" a UUID for consumers that parse them.
  private static final SchemaRegistry REGISTRY = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12,
      b -> b.schemaIdResolvers(r -> r.mapPrefix(ID_BASE, "classpath:" + RESOURCES))
          .schemaRegistryConfig(SchemaRegistryConfig.builder().formatAssertionsEnabled(true).build()));
  private static final Map<String, Schema> BY_TYPE = new ConcurrentHashMap<>();

  private EventSchemas() {}

  /** The schema file of a type: the type without {@code io.pgfleet.}, then {@code .schema.json}. */
  public static String fileName(String type) {
    if (!type.startsWith(TYPE_PREFIX) || type.length() == TYPE_PREFIX.length() || type.contains("/")) {
      throw new IllegalArgumentException("'" + type + "' is not a pgfleet event type (io.pgfleet.<name>)");
    }
    return type.substring(TYPE_PREFIX.length()) + ".schema.json";
  }

  public static boolean exists(String type) {
    try {
      return EventSchemas.class.getClassLoader().getResource(RESOURCES + fileName(type)) != null;
    } catch (IllegalArgumentException e) {
      return false;
    }
  }

  /** The schema of {@code type}; fails, naming the file to add, when there is none. */
  public static Schema schema(String type) {
    if (!exists(type)) {
      throw new AssertionError("no schema for event type '" + type + "': every emitted type needs docs/events/"
          + (type.startsWith(TYPE_PREFIX) ? fileName(type) : "<name>.schema.json")
          + " and a row in docs/events/README.md");
    }
    return BY_TYPE.computeIfAbsent(type, t -> REGISTRY.getSchema(SchemaLocation.of(ID_BASE + fileName(t))));
  }

  /** What is wrong with an event against the schema of the type it names; empty when it conforms. */
  public static List<String> violations(JsonNode event) {
    JsonNode type = event.get("type");
    if (type == null || !type.isTextual()) {
      return List.of("the event names no type: " + event);
    }
    if (!exists(type.asText())) {
      return List.of("no schema for event type '" + type.asText() + "'");
    }
    return violations(type.asText(), event);
  }

  /** What is wrong with an event against the schema of {@code type}, whatever type the event names. */
  public static List<String> violations(String type, JsonNode event) {
    List<String> out = new ArrayList<>();
    schema(type).validate(event).forEach(e -> out.add(e.getInstanceLocation() + ": " + e.getMessage()));
    return out;
  }

  public static JsonNode parse(String json) {
    try {
      return PLAIN.readTree(json);
    } catch (IOException e) {
      throw new UncheckedIOException("not JSON: " + json, e);
    }
  }

  /** docs/events/README.md, the index of the schemas. */
  public static String readme() {
    return resource("README.md");
  }

  public static String resource(String name) {
    try (InputStream in = EventSchemas.class.getClassLoader().getResourceAsStream(RESOURCES + name)) {
      if (in == null) {
        throw new IllegalStateException(RESOURCES + name + " is not on the test classpath (common's pom copies"
            + " docs/events there)");
      }
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** Every type {@link EventTypes} declares: what pgfleet may emit. */
  public static List<String> declaredTypes() {
    List<String> types = new ArrayList<>();
    for (Field f : EventTypes.class.getDeclaredFields()) {
      int m = f.getModifiers();
      if (Modifier.isPublic(m) && Modifier.isStatic(m) && f.getType() == String.class) {
        try {
          types.add((String) f.get(null));
        } catch (IllegalAccessException e) {
          throw new IllegalStateException(e);
        }
      }
    }
    return types;
  }
}
