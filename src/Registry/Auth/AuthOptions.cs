namespace Registry.Auth;

/// <summary>Authentication settings (section <c>Auth</c>).</summary>
public sealed class AuthOptions
{
    public const string SectionName = "Auth";

    /// <summary>The token service name clients echo back as <c>service</c>; also the JWT audience.</summary>
    public string Service { get; set; } = "registry";

    /// <summary>The JWT issuer.</summary>
    public string Issuer { get; set; } = "registry-token-issuer";

    /// <summary>
    /// The token endpoint URL sent in challenges. Empty: derived from each request's scheme and host,
    /// which is right unless a proxy rewrites them.
    /// </summary>
    public string? Realm { get; set; }

    /// <summary>Lifetime of issued tokens.</summary>
    public TimeSpan TokenLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long parsed policies are kept in memory. Changes made through this process apply at once;
    /// this bounds how long a change made through another replica takes to apply here.
    /// </summary>
    public int PolicyCacheSeconds { get; set; } = 5;

    /// <summary>PEM file of the ECDSA P-256 key that signs tokens; defaults to <c>&lt;data&gt;/token-signing-key.pem</c>, created on first start.</summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>File of the key that seals access key secrets at rest; defaults to <c>&lt;data&gt;/secrets-key</c>, created on first start. Share it between replicas.</summary>
    public string? SecretsKeyPath { get; set; }

    /// <summary>Password of the bootstrap <c>admin</c> user on first start; also read from <c>REGISTRY_ADMIN_PASSWORD</c>.</summary>
    public string? AdminPassword { get; set; }
}
