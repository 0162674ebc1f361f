using System.CommandLine;
using Registry.Data.Entities;

namespace Registry.Iam;

/// <summary>
/// <c>registry admin …</c>: the admin API's operations from the command line, straight on the
/// configured database (no server needed), for bootstrapping and for scripts.
/// </summary>
internal static class AdminCommands
{
    /// <summary>Builds the <c>admin</c> command; <paramref name="run"/> hosts the registry's services around an operation.</summary>
    public static Command Create(Option<string?> data, Func<ParseResult, Func<IamService, TextWriter, CancellationToken, Task>, CancellationToken, Task<int>> run)
    {
        var admin = new Command("admin", "Manage users, access keys, groups, roles and policies.");
        var name = new Argument<string>("name");
        var user = new Argument<string>("user");
        var group = new Argument<string>("group");
        var policy = new Argument<string>("policy");
        var repository = new Argument<string>("repository");
        var keyId = new Argument<string>("access-key-id");
        var password = new Option<string?>("--password") { Description = "Password for signing in to /v2 and /token (none: access keys only)." };
        var document = new Option<string>("--document") { Description = "Policy JSON, a file holding it, or - for standard input.", Required = true };
        var trustPolicy = new Option<string?>("--trust-policy") { Description = "Trust policy JSON, a file holding it, or - for standard input." };
        var toUser = new Option<string?>("--user");
        var toGroup = new Option<string?>("--group");
        var toRole = new Option<string?>("--role");

        Command Verb(string verb, string description, Symbol[] symbols, Func<ParseResult, IamService, TextWriter, CancellationToken, Task> action)
        {
            var command = new Command(verb, description) { data };
            foreach (var symbol in symbols)
            {
                switch (symbol)
                {
                    case Argument argument:
                        command.Arguments.Add(argument);
                        break;
                    case Option option:
                        command.Options.Add(option);
                        break;
                }
            }

            command.SetAction((parse, cancellationToken) => run(parse, (iam, output, ct) => action(parse, iam, output, ct), cancellationToken));
            admin.Subcommands.Add(command);
            return command;
        }

        Verb("create-user", "Create a user.", [name, password], (p, iam, _, ct) => iam.CreateUserAsync(p.GetValue(name)!, p.GetValue(password), ct));
        Verb("delete-user", "Delete a user, its access keys and attachments.", [name], (p, iam, _, ct) => iam.DeleteUserAsync(p.GetValue(name)!, ct));
        Verb("set-password", "Set a user's password.", [name, password], (p, iam, _, ct) =>
            iam.SetPasswordAsync(p.GetValue(name)!, p.GetValue(password) ?? throw IamException.Invalid("--password is required"), ct));
        Verb("list-users", "List users.", [], async (_, iam, output, ct) => await WriteLinesAsync(output, await iam.ListUsersAsync(ct)));
        Verb("create-access-key", "Create an access key for a user; prints the id and the secret (shown only now).", [user], async (p, iam, output, ct) =>
        {
            var (id, secret) = await iam.CreateAccessKeyAsync(p.GetValue(user)!, ct);
            await output.WriteLineAsync($"{id} {secret}");
        });
        Verb("list-access-keys", "List a user's access keys.", [user], async (p, iam, output, ct) =>
            await WriteLinesAsync(output, (await iam.ListAccessKeysAsync(p.GetValue(user)!, ct)).Select(k => $"{k.Id} {k.Status} {k.CreatedAt:yyyy-MM-dd'T'HH:mm:ss'Z'}")));
        Verb("delete-access-key", "Delete an access key.", [user, keyId], (p, iam, _, ct) => iam.DeleteAccessKeyAsync(p.GetValue(user)!, p.GetValue(keyId)!, ct));
        Verb("create-group", "Create a group.", [name], (p, iam, _, ct) => iam.CreateGroupAsync(p.GetValue(name)!, ct));
        Verb("delete-group", "Delete a group.", [name], (p, iam, _, ct) => iam.DeleteGroupAsync(p.GetValue(name)!, ct));
        Verb("list-groups", "List groups.", [], async (_, iam, output, ct) => await WriteLinesAsync(output, await iam.ListGroupsAsync(ct)));
        Verb("add-user-to-group", "Add a user to a group.", [group, user], (p, iam, _, ct) => iam.AddUserToGroupAsync(p.GetValue(group)!, p.GetValue(user)!, ct));
        Verb("remove-user-from-group", "Remove a user from a group.", [group, user], (p, iam, _, ct) => iam.RemoveUserFromGroupAsync(p.GetValue(group)!, p.GetValue(user)!, ct));
        Verb("create-role", "Create a role.", [name, trustPolicy], async (p, iam, _, ct) =>
            await iam.CreateRoleAsync(p.GetValue(name)!, p.GetValue(trustPolicy) is { } trust ? await ReadDocumentAsync(trust, ct) : null, ct));
        Verb("delete-role", "Delete a role.", [name], (p, iam, _, ct) => iam.DeleteRoleAsync(p.GetValue(name)!, ct));
        Verb("list-roles", "List roles.", [], async (_, iam, output, ct) => await WriteLinesAsync(output, await iam.ListRolesAsync(ct)));
        Verb("create-policy", "Create a managed (identity) policy.", [name, document], async (p, iam, _, ct) =>
            await iam.PutPolicyAsync(p.GetValue(name)!, await ReadDocumentAsync(p.GetValue(document)!, ct), replace: false, ct));
        Verb("update-policy", "Replace a managed policy's document.", [name, document], async (p, iam, _, ct) =>
        {
            await iam.GetPolicyAsync(p.GetValue(name)!, ct);
            await iam.PutPolicyAsync(p.GetValue(name)!, await ReadDocumentAsync(p.GetValue(document)!, ct), replace: true, ct);
        });
        Verb("get-policy", "Print a managed policy's document.", [name], async (p, iam, output, ct) => await output.WriteLineAsync(await iam.GetPolicyAsync(p.GetValue(name)!, ct)));
        Verb("delete-policy", "Delete a managed policy and its attachments.", [name], (p, iam, _, ct) => iam.DeletePolicyAsync(p.GetValue(name)!, ct));
        Verb("list-policies", "List managed policies.", [], async (_, iam, output, ct) => await WriteLinesAsync(output, await iam.ListPoliciesAsync(ct)));
        Verb("attach-policy", "Attach a managed policy to a user, group or role.", [policy, toUser, toGroup, toRole], (p, iam, _, ct) =>
        {
            var (kind, target) = Target(p, toUser, toGroup, toRole);
            return iam.AttachPolicyAsync(p.GetValue(policy)!, kind, target, ct);
        });
        Verb("detach-policy", "Detach a managed policy from a user, group or role.", [policy, toUser, toGroup, toRole], (p, iam, _, ct) =>
        {
            var (kind, target) = Target(p, toUser, toGroup, toRole);
            return iam.DetachPolicyAsync(p.GetValue(policy)!, kind, target, ct);
        });
        Verb("set-repository-policy", "Set a repository's policy.", [repository, document], async (p, iam, _, ct) =>
            await iam.SetRepositoryPolicyAsync(p.GetValue(repository)!, await ReadDocumentAsync(p.GetValue(document)!, ct), ct));
        Verb("get-repository-policy", "Print a repository's policy.", [repository], async (p, iam, output, ct) =>
            await output.WriteLineAsync(await iam.GetRepositoryPolicyAsync(p.GetValue(repository)!, ct) ?? throw new IamException("RepositoryPolicyNotFoundException", "the repository has no policy", 404)));
        Verb("delete-repository-policy", "Remove a repository's policy.", [repository], (p, iam, _, ct) => iam.SetRepositoryPolicyAsync(p.GetValue(repository)!, null, ct));
        Verb("set-registry-policy", "Set the registry policy (a resource policy over every repository).", [document], async (p, iam, _, ct) =>
            await iam.SetRegistryPolicyAsync(await ReadDocumentAsync(p.GetValue(document)!, ct), ct));
        Verb("get-registry-policy", "Print the registry policy.", [], async (_, iam, output, ct) =>
            await output.WriteLineAsync(await iam.GetRegistryPolicyAsync(ct) ?? throw IamException.NoSuchEntity("the registry policy")));
        Verb("delete-registry-policy", "Remove the registry policy.", [], (_, iam, _, ct) => iam.SetRegistryPolicyAsync(null, ct));
        return admin;
    }

    private static (PrincipalKind Kind, string Name) Target(ParseResult parse, Option<string?> user, Option<string?> group, Option<string?> role)
    {
        var targets = new[] { (PrincipalKind.User, parse.GetValue(user)), (PrincipalKind.Group, parse.GetValue(group)), (PrincipalKind.Role, parse.GetValue(role)) }
            .Where(t => t.Item2 is { Length: > 0 })
            .ToList();
        return targets.Count == 1 ? (targets[0].Item1, targets[0].Item2!) : throw IamException.Invalid("name exactly one of --user, --group or --role");
    }

    /// <summary>A policy given inline (starts with <c>{</c>), as a file, or as <c>-</c> for standard input.</summary>
    private static async Task<string> ReadDocumentAsync(string value, CancellationToken cancellationToken)
    {
        if (value.TrimStart().StartsWith('{'))
        {
            return value;
        }

        if (value == "-")
        {
            return await Console.In.ReadToEndAsync(cancellationToken);
        }

        try
        {
            return await File.ReadAllTextAsync(value, cancellationToken);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw IamException.Invalid($"cannot read the policy file '{value}': {e.Message}");
        }
    }

    private static async Task WriteLinesAsync(TextWriter output, IEnumerable<string> lines)
    {
        foreach (var line in lines)
        {
            await output.WriteLineAsync(line);
        }
    }
}
