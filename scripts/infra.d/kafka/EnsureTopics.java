// Creates (or grows) the topics listed in topics.txt on the local broker.
// Run by scripts/infra with the broker's own jars on the class path:
//   java -cp '<cache>/kafka/<version>/libs/*' EnsureTopics.java BOOTSTRAP PARTITIONS TOPICS_FILE TIMEOUT_S
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewPartitions;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;

public class EnsureTopics {
    public static void main(String[] args) throws Exception {
        String bootstrap = args[0];
        int defaultPartitions = Integer.parseInt(args[1]);
        Path file = Path.of(args[2]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(Long.parseLong(args[3]));

        Map<String, Integer> wanted = new LinkedHashMap<>();
        for (String line : Files.readAllLines(file)) {
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("#")) continue;
            String[] parts = s.split("\\s+");
            wanted.put(parts[0], parts.length > 1 ? Integer.parseInt(parts[1]) : defaultPartitions);
        }

        Properties props = new Properties();
        props.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        props.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5000);
        props.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 10000);
        try (Admin admin = Admin.create(props)) {
            Exception last = null;
            while (System.nanoTime() < deadline) {
                try {
                    ensure(admin, wanted);
                    return;
                } catch (Exception e) {
                    last = e;
                    Thread.sleep(500);
                }
            }
            System.err.println("topics not ready before the deadline: " + last);
            System.exit(1);
        }
    }

    static void ensure(Admin admin, Map<String, Integer> wanted) throws Exception {
        var existing = admin.listTopics().names().get(10, TimeUnit.SECONDS);
        List<NewTopic> create = new ArrayList<>();
        for (var e : wanted.entrySet()) {
            if (!existing.contains(e.getKey())) create.add(new NewTopic(e.getKey(), e.getValue(), (short) 1));
        }
        if (!create.isEmpty()) {
            admin.createTopics(create).all().get(30, TimeUnit.SECONDS);
            for (NewTopic t : create) System.out.println("created topic " + t.name() + " (" + t.numPartitions() + " partitions)");
        }
        Map<String, TopicDescription> desc = admin.describeTopics(wanted.keySet()).allTopicNames().get(10, TimeUnit.SECONDS);
        Map<String, NewPartitions> grow = new HashMap<>();
        for (var e : wanted.entrySet()) {
            int have = desc.get(e.getKey()).partitions().size();
            if (have < e.getValue()) grow.put(e.getKey(), NewPartitions.increaseTo(e.getValue()));
        }
        if (!grow.isEmpty()) {
            admin.createPartitions(grow).all().get(30, TimeUnit.SECONDS);
            for (String t : grow.keySet()) System.out.println("grew topic " + t + " to " + wanted.get(t) + " partitions");
        }
        System.out.println("topics ready: " + String.join(" ", wanted.keySet()));
    }
}
