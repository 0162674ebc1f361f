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

    /// <summary>Lets anonymous clients pull (never push). Off by default.</summary>
    public bool AnonymousPull { get; set; }

    /// <summary>PEM file of the ECDSA P-256 key that signs tokens; defaults to <c>&lt;data&gt;/token-signing-key.pem</c>, created on first start.</summary>
    public string? SigningKeyPath { get; set; }

    /// <summary>Password of the bootstrap <c>admin</c> user on first start; also read from <c>REGISTRY_ADMIN_PASSWORD</c>.</summary>
    public string? AdminPassword { get; set; }
}
