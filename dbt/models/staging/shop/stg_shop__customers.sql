with

source as (

    select * from {{ ref('raw_customers') }}

),

renamed as (

    select
        cast(id as integer) as customer_id,
        trim(first_name) as first_name,
        trim(last_name) as last_name,
        lower(trim(email)) as email,
        upper(trim(country)) as country_code,
        cast(created_at as timestamp) as created_at

    from source

),

final as (

    select * from renamed

)

select * from final
