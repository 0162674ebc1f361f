using System.Security.Claims;
using Microsoft.Extensions.Options;

namespace Registry.Auth;

/// <summary>
/// The policy until IAM policies arrive: any authenticated user may do anything; anonymous users may
/// pull only where <see cref="AuthOptions.AnonymousPull"/> allows it.
/// </summary>
internal sealed class AuthenticatedUserAuthorizer(IOptions<AuthOptions> options) : IRegistryAuthorizer
{
    public ValueTask<IReadOnlyList<string>> GrantAsync(ClaimsPrincipal user, AccessScope requested, CancellationToken cancellationToken)
    {
        if (user.Identity?.IsAuthenticated == true)
        {
            return ValueTask.FromResult(requested.Actions);
        }

        IReadOnlyList<string> granted = options.Value.AnonymousPull && requested.Type == "repository"
            ? requested.Actions.Where(a => a == AccessScope.Pull).ToList()
            : [];
        return ValueTask.FromResult(granted);
    }
}
