"""Operations on a running shop that Lambdas, the local stack and ``shopctl`` share."""
