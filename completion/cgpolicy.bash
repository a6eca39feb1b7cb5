# bash completion for cgpolicy(8)                          -*- shell-script -*-
# Installed as share/bash-completion/completions/cgpolicy (loaded on demand by
# bash-completion). Keep the commands and options in step with `cgpolicy
# --help`: tests/e2e/packaging.sh compares them.

# Policy names in force under a pin path, from `cgpolicy status --json`.
# Usage: _cgpolicy_policy_names BINARY [PIN_PATH]
_cgpolicy_policy_names()
{
    local json re='"name": "([A-Za-z0-9_.-]+)", "cgroup"' names=" "
    json=$("$1" ${2:+--pin-path "$2"} status --json 2>/dev/null) || return
    # one object per policy (a glob policy once per matched cgroup); the
    # "reuseport" entries have no "cgroup" right after their name
    while [[ $json =~ $re ]]; do
        [[ $names == *" ${BASH_REMATCH[1]} "* ]] || names+="${BASH_REMATCH[1]} "
        json=${json#*"${BASH_REMATCH[0]}"}
    done
    printf '%s\n' $names
}

_cgpolicy()
{
    local cur prev words cword split
    _init_completion -s || return

    local commands="apply check status stats explain agent set remove"
    local global_opts="--pin-path --verbose --help --version -p -v -h -V"
    local cmd="" cmd_at=0 pin="" nargs=0 i w

    # The command, the --pin-path given anywhere on the line (options may come
    # before or after the command) and how many arguments the command has.
    for ((i = 1; i < ${#words[@]}; i++)); do
        w=${words[i]}
        case $w in
            -p | --pin-path)
                ((i + 1 != cword)) && pin=${words[i + 1]}
                ((i++))
                ;;
            --pin-path=*) ((i != cword)) && pin=${w#*=} ;;
            --policy | --watch | --cgroup) ((i++)) ;;
            -*) ;;
            *)
                ((i == cword)) && continue
                if [[ -z $cmd ]]; then
                    cmd=$w cmd_at=$i
                elif ((i < cword)); then
                    ((nargs++))
                fi
                ;;
        esac
    done
    [[ $pin == \~* ]] && __expand_tilde_by_ref pin

    case $prev in
        -p | --pin-path)
            _filedir -d
            return
            ;;
        --policy)
            local bin=${words[0]}
            [[ $bin == \~* ]] && __expand_tilde_by_ref bin
            COMPREPLY=($(compgen -W "$(_cgpolicy_policy_names "$bin" "$pin")" -- "$cur"))
            return
            ;;
        --watch)
            # SECONDS: nothing to offer
            return
            ;;
        --cgroup)
            # a cgroup path as in `cgroup =`: nothing to offer
            return
            ;;
    esac
    $split && return

    if [[ $cur == -* ]]; then
        local opts=$global_opts
        case $cmd in
            apply) opts+=" --dry-run" ;;
            status) opts+=" --json --rules --policy" ;;
            explain) opts+=" --json --cgroup --policy" ;;
            stats) opts+=" --json --policy --watch" ;;
            set) opts+=" --json" ;;
        esac
        COMPREPLY=($(compgen -W "$opts" -- "$cur"))
        return
    fi

    if [[ -z $cmd ]] || ((cmd_at > cword)); then
        COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        return
    fi

    case $cmd in
        explain)
            # [FILE] in|out PROTO ADDRESS [PORT | type NAME|N [code M]]
            if ((nargs == 0)); then
                COMPREPLY=($(compgen -W "in out" -- "$cur"))
                _filedir
            elif [[ ${words[cword - 1]} == in || ${words[cword - 1]} == out ]]; then
                COMPREPLY=($(compgen -W "tcp udp icmp other" -- "$cur"))
            elif [[ ${words[cword - 1]} == type ]]; then
                COMPREPLY=($(compgen -W "echo-request echo-reply destination-unreachable fragmentation-needed
                    time-exceeded parameter-problem redirect source-quench router-advertisement
                    router-solicitation timestamp-request timestamp-reply info-request info-reply
                    address-mask-request address-mask-reply packet-too-big neighbour-solicitation
                    neighbour-advertisement mld-listener-query mld-listener-report mld-listener-done
                    mld2-listener-report" -- "$cur"))
            elif ((cword >= 2)) && [[ ${words[cword - 2]} == icmp ]]; then
                COMPREPLY=($(compgen -W "type" -- "$cur"))
            elif ((cword >= 2)) && [[ ${words[cword - 2]} == type ]]; then
                COMPREPLY=($(compgen -W "code" -- "$cur"))
            elif ((nargs == 1)); then
                COMPREPLY=($(compgen -W "in out" -- "$cur"))
            fi
            ;;
        apply | check | agent)
            # one policy FILE
            ((nargs == 0)) && _filedir
            ;;
        set)
            # set add|del|list NAME ...: the subcommand, then `timeout` after addresses
            if ((nargs == 0)); then
                COMPREPLY=($(compgen -W "add del list" -- "$cur"))
            elif ((nargs >= 2)) && [[ ${words[cmd_at + 1]} == add ]]; then
                COMPREPLY=($(compgen -W "timeout -" -- "$cur"))
            fi
            ;;
    esac
} &&
    complete -F _cgpolicy cgpolicy

# ex: filetype=sh
