"""Federation: serving our feeds to peers, pulling theirs, finding each other.

``transport`` only speaks HTTP to peers; ``sync`` holds the policy (what to
pull, from whom, how often, what to do with a bad peer); ``addresses`` decides
which learned peers may be dialled. See ``docs/protocol.md#federation``.
"""
