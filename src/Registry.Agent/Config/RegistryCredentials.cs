using System.Text;
using System.Text.Json;

namespace Registry.Agent.Config;

/// <summary>
/// The credentials the agent pulls with, per registry, from <c>ECS_ENGINE_AUTH_TYPE</c> and
/// <c>ECS_ENGINE_AUTH_DATA</c>: type <c>docker</c> (<c>{"host": {"username", "password", "email"}}</c>)
/// or <c>dockercfg</c> (<c>{"host": {"auth": base64("user:password"), "email"}}</c>).
/// </summary>
public sealed class RegistryCredentials
{
    private readonly Dictionary<string, (string User, string Password)> _byHost;

    private RegistryCredentials(Dictionary<string, (string, string)> byHost) => _byHost = byHost;

    public static RegistryCredentials None { get; } = new(new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase));

    public IReadOnlyCollection<string> Hosts => _byHost.Keys;

    public static RegistryCredentials Parse(string type, string data)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(data);
        }
        catch (JsonException e)
        {
            throw new AgentConfigException($"ECS_ENGINE_AUTH_DATA is not JSON: {e.Message}");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new AgentConfigException("ECS_ENGINE_AUTH_DATA must be a JSON object keyed by registry.");
            }

            var byHost = new Dictionary<string, (string, string)>(StringComparer.OrdinalIgnoreCase);
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                byHost[HostOf(entry.Name)] = type switch
                {
                    "docker" => (Member(entry, "username"), Member(entry, "password")),
                    "dockercfg" => Decode(entry),
                    _ => throw new AgentConfigException($"ECS_ENGINE_AUTH_TYPE must be docker or dockercfg, not '{type}'."),
                };
            }

            return new RegistryCredentials(byHost);
        }
    }

    /// <summary>The user and password for the registry serving <paramref name="host"/> (host or host:port), if any.</summary>
    public (string User, string Password)? For(string host) => _byHost.TryGetValue(host, out var credentials) ? credentials : null;

    /// <summary>The host:port of a registry named as a URL (<c>https://host:port/v1/</c>) or a bare host.</summary>
    private static string HostOf(string key) =>
        Uri.TryCreate(key, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri.Authority : key.TrimEnd('/');

    private static string Member(JsonProperty entry, string name) =>
        entry.Value.ValueKind == JsonValueKind.Object && entry.Value.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw new AgentConfigException($"ECS_ENGINE_AUTH_DATA for {entry.Name} needs a \"{name}\" string.");

    private static (string, string) Decode(JsonProperty entry)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Convert.FromBase64String(Member(entry, "auth")));
        }
        catch (FormatException)
        {
            throw new AgentConfigException($"ECS_ENGINE_AUTH_DATA for {entry.Name}: \"auth\" is not base64.");
        }

        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 ? (text[..colon], text[(colon + 1)..]) : throw new AgentConfigException($"ECS_ENGINE_AUTH_DATA for {entry.Name}: \"auth\" must encode user:password.");
    }
}

/// <summary>A user and password for one registry, for one pull (a task's execution role's ECR login).</summary>
public sealed record RegistryLogin(string User, string Password);
