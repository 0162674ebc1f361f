using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Json.Schema;
using Registry.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Registry.Tests.Charts;

/// <summary>
/// What can be checked of the Helm chart without Helm (not installable here; the chart's GitHub
/// workflow lints, renders and installs it): the default values and every documented example validate
/// against values.schema.json as Helm merges them, impossible combinations are refused, every value the
/// templates read exists, and every value is documented.
/// </summary>
public sealed partial class HelmChartTests
{
    private static readonly string Chart = Path.Combine(Cli.RepositoryRoot, "charts", "registry");

    private static readonly JsonSchema Schema = JsonSchema.FromText(File.ReadAllText(Path.Combine(Chart, "values.schema.json")));

    public static TheoryData<string> Examples() => [.. ExampleFiles()];

    private static List<string> ExampleFiles() => [.. Directory.GetFiles(Path.Combine(Chart, "examples"), "*.yaml").Select(f => Path.GetFileName(f)).Order()];

    [Fact]
    public void The_defaults_are_valid()
    {
        AssertValid(Defaults());
    }

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_is_documented_and_valid_over_the_defaults(string example)
    {
        Assert.Contains($"`examples/{example}`", File.ReadAllText(Path.Combine(Chart, "README.md")), StringComparison.Ordinal);
        AssertValid(Merge(Defaults(), Yaml(File.ReadAllText(Path.Combine(Chart, "examples", example)))));
    }

    [Fact]
    public void There_are_examples_for_the_filesystem_postgresql_s3_and_postgresql_azure()
    {
        Assert.Equal(["filesystem.yaml", "postgresql-azure.yaml", "postgresql-s3.yaml"], ExampleFiles());
    }

    [Theory]
    [InlineData("replicaCount: 3", "more than one replica on the filesystem default's single volume")]
    [InlineData("autoscaling: {enabled: true}", "an autoscaler on the filesystem default")]
    [InlineData("{replicaCount: 2, admin: {existingSecret: admin}, keys: {existingSecret: keys}, database: {type: postgresql}, storage: {type: s3, s3: {bucket: blobs}}}", "PostgreSQL without its connection string Secret")]
    [InlineData("{replicaCount: 2, admin: {existingSecret: admin}, database: {type: postgresql, existingSecret: db}, storage: {type: s3, s3: {bucket: blobs}}}", "PostgreSQL without the shared keys")]
    [InlineData("{replicaCount: 2, keys: {existingSecret: keys}, database: {type: postgresql, existingSecret: db}, storage: {type: s3, s3: {bucket: blobs}}}", "PostgreSQL without the admin password Secret (the data folders are not kept)")]
    [InlineData("{replicaCount: 2, admin: {existingSecret: admin}, keys: {existingSecret: keys}, database: {type: postgresql, existingSecret: db}, storage: {type: s3}}", "S3 without a bucket")]
    [InlineData("{replicaCount: 2, admin: {existingSecret: admin}, keys: {existingSecret: keys}, database: {type: postgresql, existingSecret: db}, storage: {type: azure, azure: {container: blobs}}}", "Azure without its Secret")]
    [InlineData("{database: {type: sqlite}, storage: {type: s3, s3: {bucket: blobs}}}", "SQLite without the data volume")]
    [InlineData("podDisruptionBudget: {enabled: true}", "a disruption budget on the single-replica filesystem default (it would block node drains)")]
    [InlineData("encryption: {enabled: true}", "encryption without its master key Secret")]
    [InlineData("agent: {enabled: true}", "the agent without its credentials")]
    [InlineData("service: {port: \"5000\"}", "a port as a string")]
    [InlineData("storage: {type: nfs}", "an unknown store")]
    [InlineData("replicas: 2", "an unknown key (a typo of replicaCount)")]
    [InlineData("ingress: {enabled: true, tls: [{hosts: [a.example.com]}]}", "TLS without a Secret")]
    public void Impossible_values_are_refused(string values, string why)
    {
        var result = Schema.Evaluate(JsonSerializer.SerializeToElement(Merge(Defaults(), Yaml(values))), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.False(result.IsValid, $"accepted {why}: {values}");
    }

    [Fact]
    public void The_scaled_out_combination_the_refusals_differ_from_is_valid()
    {
        AssertValid(Merge(Defaults(), Yaml("{replicaCount: 2, admin: {existingSecret: admin}, keys: {existingSecret: keys}, database: {type: postgresql, existingSecret: db}, storage: {type: s3, s3: {bucket: blobs}}, global: {imageRegistry: example.com}}")));
    }

    [Fact]
    public void Every_value_the_templates_read_exists_and_every_value_is_documented()
    {
        var defaults = Defaults();
        var readme = File.ReadAllText(Path.Combine(Chart, "README.md"));
        foreach (var template in Directory.GetFiles(Path.Combine(Chart, "templates")))
        {
            foreach (Match read in ValuesPath().Matches(File.ReadAllText(template)))
            {
                JsonNode? node = defaults;
                foreach (var part in read.Groups["path"].Value.Split('.'))
                {
                    Assert.True(node is JsonObject map && map.ContainsKey(part), $"{Path.GetFileName(template)} reads .Values.{read.Groups["path"].Value}, which values.yaml does not have");
                    node = node![part];
                }
            }
        }

        foreach (var key in defaults.Select(p => p.Key))
        {
            Assert.Matches($"`{Regex.Escape(key)}[`.]", readme);
        }
    }

    private static void AssertValid(JsonNode values)
    {
        var result = Schema.Evaluate(JsonSerializer.SerializeToElement(values), new EvaluationOptions { OutputFormat = OutputFormat.List });
        Assert.True(result.IsValid, string.Join("\n", (result.Details ?? []).Where(d => d.Errors is not null).SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Value}"))));
    }

    private static JsonObject Defaults() => (JsonObject)Yaml(File.ReadAllText(Path.Combine(Chart, "values.yaml")));

    /// <summary>Helm's merge of user values over the defaults: maps merge key by key, anything else replaces.</summary>
    private static JsonNode Merge(JsonNode defaults, JsonNode overrides)
    {
        if (defaults is not JsonObject baseMap || overrides is not JsonObject overrideMap)
        {
            return overrides.DeepClone();
        }

        var merged = (JsonObject)baseMap.DeepClone();
        foreach (var (key, value) in overrideMap)
        {
            merged[key] = merged[key] is { } existing && value is not null ? Merge(existing, value) : value?.DeepClone();
        }

        return merged;
    }

    /// <summary>YAML as Helm reads it: plain scalars typed (booleans, integers, numbers, null), quoted ones strings.</summary>
    private static JsonNode Yaml(string text)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(text));
        return Convert(stream.Documents[0].RootNode)!;
    }

    private static JsonNode? Convert(YamlNode node) => node switch
    {
        YamlMappingNode map => new JsonObject(map.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, Convert(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(Convert)]),
        YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } scalar => scalar.Value switch
        {
            null or "" or "~" or "null" => null,
            "true" => JsonValue.Create(true),
            "false" => JsonValue.Create(false),
            var v when long.TryParse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => JsonValue.Create(number),
            var v when double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var real) => JsonValue.Create(real),
            var v => JsonValue.Create(v),
        },
        YamlScalarNode scalar => JsonValue.Create(scalar.Value ?? ""),
        _ => throw new InvalidOperationException($"unexpected YAML node {node.NodeType}"),
    };

    [GeneratedRegex(@"\.Values\.(?<path>[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")]
    private static partial Regex ValuesPath();
}
