using System.Security.Claims;

namespace Registry.Auth;

/// <summary>
/// Decides which of the requested actions a principal may take on a resource. This is the one seam
/// where access policy lives: the token endpoint grants what it returns, and Basic-authenticated
/// requests are checked against it directly.
/// </summary>
public interface IRegistryAuthorizer
{
    /// <summary>The subset of <paramref name="requested"/> actions that <paramref name="user"/> may take (an anonymous user has no identity).</summary>
    ValueTask<IReadOnlyList<string>> GrantAsync(ClaimsPrincipal user, AccessScope requested, CancellationToken cancellationToken);
}
